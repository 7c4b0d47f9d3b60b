"""Tokeninfo key/values and the date formats privacyIDEA writes into them.

Two ways to write: :func:`set_info` through the ORM collection (management use
cases, one request per token at a time) and :func:`put_info` / :func:`bump_info`
as single SQL statements (the validate path, where fifty requests for one token may
run at once and must neither lose updates nor collide on the unique key).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, cast, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from factorflow.core.dates import DateError, parse_stored_validity
from factorflow.errors import ParameterError
from factorflow.tokens.models import Token, TokenInfo


def parse_validity(value: str) -> datetime:
    """A stored validity-period bound (:func:`factorflow.core.dates.parse_stored_validity`);
    ParameterError on anything else."""
    try:
        return parse_stored_validity(value)
    except DateError as exc:
        raise ParameterError(str(exc)) from None


def get_info(token: Token, key: str, default: str = "") -> str:
    for item in token.info:
        if item.key == key:
            return item.value
    return default


def info_dict(token: Token) -> dict[str, str]:
    """Tokeninfo as privacyIDEA lists it: ``{key: value}`` plus ``key.type`` for typed values."""
    out: dict[str, str] = {}
    for item in token.info:
        out[item.key] = item.value
        if item.type:
            out[f"{item.key}.type"] = item.type
    return out


def set_info(token: Token, key: str, value: str, value_type: str = "") -> None:
    for item in token.info:
        if item.key == key:
            item.value = value
            item.type = value_type
            return
    token.info.append(TokenInfo(key=key, value=value, type=value_type))


def delete_info(token: Token, key: str) -> bool:
    for item in list(token.info):
        if item.key == key:
            token.info.remove(item)
            return True
    return False


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def put_info(session: Session, token_id: int, key: str, value: str) -> None:
    """Set one tokeninfo value with SQL only; safe when requests race on the same key."""
    stmt = update(TokenInfo).where(TokenInfo.token_id == token_id, TokenInfo.key == key)
    if _rowcount(
        session.execute(stmt.values(value=value), execution_options={"synchronize_session": False})
    ):
        return
    if not _insert_once(session, token_id, key, value):
        session.execute(stmt.values(value=value), execution_options={"synchronize_session": False})


def bump_info(session: Session, token_id: int, key: str) -> None:
    """Add one to a numeric tokeninfo value in the database (no read-modify-write, so
    concurrent attempts are all counted)."""
    stmt = (
        update(TokenInfo)
        .where(TokenInfo.token_id == token_id, TokenInfo.key == key)
        .values(value=cast(cast(TokenInfo.value, Integer) + 1, String))
    )
    opts = {"synchronize_session": False}
    if _rowcount(session.execute(stmt, execution_options=opts)):
        return
    if not _insert_once(session, token_id, key, "1"):
        session.execute(stmt, execution_options=opts)


def _insert_once(session: Session, token_id: int, key: str, value: str) -> bool:
    """Insert a tokeninfo row in a savepoint; False if a concurrent request won the race."""
    try:
        with session.begin_nested():
            session.execute(
                insert(TokenInfo).values(token_id=token_id, key=key, value=value, type="")
            )
    except IntegrityError:
        return False
    return True


def read_info(session: Session, token_id: int, key: str) -> str | None:
    return session.scalar(
        select(TokenInfo.value).where(TokenInfo.token_id == token_id, TokenInfo.key == key)
    )
