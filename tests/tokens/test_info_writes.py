"""write_info: several tokeninfo keys of one token in one UPDATE (plus an INSERT for the
keys that do not exist yet), on every database."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.bootstrap import Services
from factorflow.tokens.info import Increment, write_info
from factorflow.tokens.models import TokenInfo
from tests import factories


def stored(session: Session, token_id: int) -> dict[str, str]:
    rows = session.execute(
        select(TokenInfo.key, TokenInfo.value).where(TokenInfo.token_id == token_id)
    )
    return {key: value for key, value in rows}


@pytest.fixture
def token_id(services: Services) -> int:
    with services.sessions.begin() as session:
        token = factories.token_row(session, "INFO1")
        for key, value in {"count_auth": "4", "last_auth": "old", "note": "keep"}.items():
            session.add(TokenInfo(token_id=token.id, key=key, value=value, type=""))
        return token.id


def test_existing_keys_are_written_in_one_update(
    services: Services, token_id: int, statements: list[str]
) -> None:
    with services.sessions.begin() as session:
        session.connection()  # the BEGIN (SQLite) is not write_info's
        statements.clear()
        write_info(session, token_id, {"count_auth": Increment(), "last_auth": "new"})
        assert [s.split(" ")[0] for s in statements] == ["UPDATE"]
    with services.sessions() as session:
        assert stored(session, token_id) == {"count_auth": "5", "last_auth": "new", "note": "keep"}


def test_missing_keys_are_inserted_and_others_left_alone(services: Services, token_id: int) -> None:
    with services.sessions.begin() as session:
        write_info(
            session,
            token_id,
            {"count_auth": Increment(), "count_auth_success": Increment(), "fresh": "x"},
        )
    with services.sessions() as session:
        assert stored(session, token_id) == {
            "count_auth": "5", "count_auth_success": "1", "fresh": "x",
            "last_auth": "old", "note": "keep",
        }  # fmt: skip


def test_all_missing_keys_are_inserted(services: Services, token_id: int) -> None:
    with services.sessions.begin() as session:
        write_info(session, token_id, {"a": "1", "b": Increment(3)})
        write_info(session, token_id, {"b": Increment(3), "a": "2"})
    with services.sessions() as session:
        values = stored(session, token_id)
    assert (values["a"], values["b"]) == ("2", "6")


def test_other_tokens_are_untouched(services: Services, token_id: int) -> None:
    with services.sessions.begin() as session:
        other = factories.token_row(session, "INFO2")
        session.add(TokenInfo(token_id=other.id, key="count_auth", value="7", type=""))
        session.flush()
        write_info(session, token_id, {"count_auth": Increment(), "last_auth": "new"})
        other_id = other.id
    with services.sessions() as session:
        assert stored(session, other_id) == {"count_auth": "7"}
