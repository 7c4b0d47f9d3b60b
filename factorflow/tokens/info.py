"""Tokeninfo key/values and the date formats privacyIDEA writes into them.

Two ways to write: :func:`set_info` through the ORM collection (management use
cases, one request per token at a time) and :func:`write_info` (:func:`put_info` /
:func:`bump_info` for one key) as SQL statements (the validate path, where fifty
requests for one token may run at once and must neither lose updates nor collide on
the unique key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, String, case, cast, insert, literal, select, update
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


@dataclass(frozen=True)
class Increment:
    """A tokeninfo value to raise by ``by`` in the database; a missing key starts at ``by``."""

    by: int = 1


#: What :func:`write_info` writes to a key: a value, or an increment.
InfoWrite = str | Increment


def put_info(session: Session, token_id: int, key: str, value: str) -> None:
    """Set one tokeninfo value with SQL only; safe when requests race on the same key."""
    write_info(session, token_id, {key: value})


def bump_info(session: Session, token_id: int, key: str) -> None:
    """Add one to a numeric tokeninfo value in the database (no read-modify-write, so
    concurrent attempts are all counted)."""
    write_info(session, token_id, {key: Increment()})


def write_info(session: Session, token_id: int, writes: Mapping[str, InfoWrite]) -> None:
    """Write several tokeninfo keys of one token with SQL only, in one ``UPDATE`` when
    they all exist (``SET value = CASE key WHEN ... END``), the success bookkeeping of
    a check being the hot case. Keys that do not exist yet are inserted; keys not named
    are left alone. Increments are computed by the database, so concurrent writers
    lose no update, and a concurrent insert of the same key is no error."""
    if not writes:
        return
    matched = _update(session, token_id, writes)
    if matched == len(writes):
        return
    present: set[str] = set()
    if matched:  # some exist: which (none matched: all are missing, no need to ask)
        stmt = select(TokenInfo.key).where(
            TokenInfo.token_id == token_id, TokenInfo.key.in_(writes)
        )
        present.update(session.scalars(stmt))
    for key, write in writes.items():
        if key in present:
            continue
        first = str(write.by) if isinstance(write, Increment) else write
        if not _insert_once(session, token_id, key, first):
            _update(session, token_id, {key: write})  # a concurrent request created it


def _new_value(write: InfoWrite) -> ColumnElement[str]:
    if isinstance(write, Increment):
        return cast(cast(TokenInfo.value, Integer) + write.by, String)
    return literal(write, String)


def _update(session: Session, token_id: int, writes: Mapping[str, InfoWrite]) -> int:
    """The ``UPDATE`` of the existing keys among ``writes``; how many rows it matched."""
    values = {key: _new_value(write) for key, write in writes.items()}
    if len(values) == 1:
        [(key, value)] = values.items()
        stmt = update(TokenInfo).where(TokenInfo.token_id == token_id, TokenInfo.key == key)
    else:
        value = case(values, value=TokenInfo.key, else_=TokenInfo.value)
        stmt = update(TokenInfo).where(TokenInfo.token_id == token_id, TokenInfo.key.in_(values))
    result = session.execute(
        stmt.values(value=value), execution_options={"synchronize_session": False}
    )
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


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
