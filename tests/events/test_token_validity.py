"""Token ``set validity``: every fixed-time format the Token handler documentation
lists (12-hour clock included), ISO 8601 and offsets from now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.bootstrap import Services
from factorflow.core.dates import parse_moment
from factorflow.events.definition import compile_options
from factorflow.events.errors import DefinitionError
from factorflow.events.handlers.base import ActionContext
from factorflow.tokens.info import get_info, parse_validity
from factorflow.tokens.models import Token
from tests.events.conftest import add_token, make_facts

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the documentation's list, as written there
        ("2016/12/23", datetime(2016, 12, 23, tzinfo=UTC)),
        ("23.12.2016", datetime(2016, 12, 23, tzinfo=UTC)),
        ("2016/12/23 9:30am", datetime(2016, 12, 23, 9, 30, tzinfo=UTC)),
        ("2016/12/23 11:20:pm", datetime(2016, 12, 23, 23, 20, tzinfo=UTC)),
        ("23.12.2016 9:30", datetime(2016, 12, 23, 9, 30, tzinfo=UTC)),
        ("23.12.2016 23:20", datetime(2016, 12, 23, 23, 20, tzinfo=UTC)),
        ("2016-12-23T15:30+0600", datetime(2016, 12, 23, 15, 30, tzinfo=timezone(timedelta(hours=6)))),
        # the same clock written the other usual ways
        ("2016/12/23 11:20 PM", datetime(2016, 12, 23, 23, 20, tzinfo=UTC)),
        ("2016/12/23 12:05am", datetime(2016, 12, 23, 0, 5, tzinfo=UTC)),
        ("2016/12/23 12:05pm", datetime(2016, 12, 23, 12, 5, tzinfo=UTC)),
        ("2016/12/23 9:30:15 a.m.", datetime(2016, 12, 23, 9, 30, 15, tzinfo=UTC)),
        ("23/12/2016 9:30", datetime(2016, 12, 23, 9, 30, tzinfo=UTC)),
        ("2016-12-23", datetime(2016, 12, 23, tzinfo=UTC)),
        ("2016-12-23T15:30:00+06:00", datetime(2016, 12, 23, 15, 30, tzinfo=timezone(timedelta(hours=6)))),
        # offsets from now
        ("+30m", NOW + timedelta(minutes=30)),
        ("+24h", NOW + timedelta(hours=24)),
        ("+30d", NOW + timedelta(days=30)),
    ],
)  # fmt: skip
def test_every_documented_format(text: str, expected: datetime) -> None:
    assert parse_moment(text, NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "soon",
        "2016/13/23",
        "31.02.2016",
        "2016/12/23 13:00pm",
        "2016/12/23 0:30am",
        "-3d",
        "+40000d",
    ],
)
def test_what_is_no_date_is_refused_on_save(services: Services, text: str) -> None:
    with pytest.raises(DefinitionError, match="valid till"):
        compile_options(services.events.handlers["Token"], "set validity", {"valid till": text})


def test_the_stored_validity_period(services: Services, session: Session) -> None:
    add_token(session, "V1")
    facts = make_facts(services, session, params={"serial": "V1"})
    handler = services.events.handlers["Token"]
    _, model = compile_options(
        handler,
        "set validity",
        {"valid from": "2016/12/23 9:30am", "valid till": "23.12.2030 11:20:pm"},
    )
    handler.run(
        ActionContext(services.action_ports, session, facts.inv, facts, "t", "post"),
        "set validity",
        model,
    )
    session.flush()
    row = session.scalar(select(Token).where(Token.serial == "V1"))
    assert row is not None
    assert get_info(row, "validity_period_start") == "2016-12-23T09:30+0000"
    assert parse_validity(get_info(row, "validity_period_end")) == datetime(
        2030, 12, 23, 23, 20, tzinfo=UTC
    )
