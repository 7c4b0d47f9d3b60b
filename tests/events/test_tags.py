"""Tags are substituted by lookup, never by str.format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from factorflow.bootstrap import Services
from factorflow.core.invocation import Actor, Outcome
from factorflow.events.compare import parse_date
from factorflow.events.tags import check_template, render, unknown_tags
from tests.events.conftest import add_token, make_facts


def test_unknown_tags_are_refused() -> None:
    assert unknown_tags("hello {username} {bogus}") == ["bogus"]
    with pytest.raises(ValueError, match=r"\{bogus\}"):
        check_template("hello {bogus}")
    assert (
        check_template("{user.__class__} {0} { } {now}-3d") == "{user.__class__} {0} { } {now}-3d"
    )


def test_render_is_safe_and_fills_known_tags(services: Services, session: Session) -> None:
    add_token(session, "SPASS1", description="the desc")
    facts = make_facts(
        services,
        session,
        params={"serial": "SPASS1"},
        actor=Actor(role="admin", username="boss"),
        client_ip="10.0.0.7",
        user_agent="privacyidea-cp/2.0 Windows",
        outcome=Outcome(value=True, detail={"pin": "1234", "googleurl": {"value": "otpauth://x"}}),
    )
    text = render(
        "{serial} {tokentype} {tokendescription} {admin} {client_ip} {ua_browser} "
        "[{ua_string}] {pin} {googleurl_value} {user.__class__} {0} {unknown}",
        facts,
    )
    assert text == (
        "SPASS1 spass the desc boss 10.0.0.7 privacyidea-cp [privacyidea-cp/2.0 Windows] 1234 "
        "otpauth://x {user.__class__} {0} {unknown}"
    )


def test_now_tags(services: Services, session: Session) -> None:
    facts = make_facts(services, session)
    facts.now = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    assert parse_date(render("{now}+7d", facts)) == facts.now + timedelta(days=7)
    assert parse_date(render("{now} - 1h", facts)) == facts.now - timedelta(hours=1)
    assert parse_date(render("{current_time}", facts)) == facts.now
    assert render("{date}", facts) == facts.now.astimezone().strftime("%Y-%m-%d")


def test_user_tags(services: Services, session: Session, flatfile_realm: str) -> None:
    facts = make_facts(services, session, params={"user": "alice", "realm": flatfile_realm})
    assert render("{user}|{givenname}|{surname}|{username}|{userrealm}", facts) == (
        "Alice|Alice|Smith|alice|realm1"
    )
