"""Bookkeeping of authentication attempts shared by the OTP and the challenge paths:
usability of a token, fail counters, the success bookkeeping, SQLite's write lock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import false, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from factorflow.core.dates import timestamp
from factorflow.core.params import is_true
from factorflow.db.base import began_immediate
from factorflow.db.models import ConfigSetting
from factorflow.errors import FactorflowError
from factorflow.tokens.base import TokenType
from factorflow.tokens.info import (
    Increment,
    bump_info,
    get_info,
    parse_validity,
    put_info,
    write_info,
)
from factorflow.tokens.models import Token
from factorflow.validate.results import MSG_LOCKED, CheckResult

log = logging.getLogger(__name__)


def take_write_lock(session: Session) -> None:
    """On SQLite, make this unit of work a writer before it reads anything.

    Every check writes (counters, fail counter). SQLite allows one writer; a
    transaction that read first and then writes after another writer committed gets
    SQLITE_BUSY at once and must start over, and under fifty concurrent checks that
    retry loop starves. Taking the write lock first (a no-op UPDATE) makes checks
    queue on the busy timeout instead. A unit of work that began ``IMMEDIATE`` (the
    pipeline's writers) holds the lock already and skips the UPDATE; PostgreSQL and
    MariaDB lock rows, not the database, and skip this too.
    """
    if session.get_bind().dialect.name == "sqlite" and not began_immediate(session):
        session.execute(update(Token).where(false()).values(id=Token.id))


def is_locked(token: Token) -> bool:
    """The fail counter reached its maximum: the token records no more failures, so
    it must not be asked about PINs or OTPs any more (it would answer for free)."""
    return token.failcount >= token.maxfail


def unusable_reason(token: Token, now: float) -> str:
    """Why a token whose PIN matched may not authenticate now ("" if it may)."""
    if not token.active:
        return "Token is disabled"
    if is_locked(token):
        return MSG_LOCKED
    moment = datetime.fromtimestamp(now, UTC)
    start = get_info(token, "validity_period_start")
    end = get_info(token, "validity_period_end")
    try:
        if (start and moment < parse_validity(start)) or (end and moment > parse_validity(end)):
            return "Outside validity period"
    except FactorflowError:
        log.warning("token %s has an unreadable validity period", token.serial)
        return "Outside validity period"
    for used, limit in (
        ("count_auth", "count_auth_max"),
        ("count_auth_success", "count_auth_success_max"),
    ):
        maximum = _int(get_info(token, limit))
        if maximum > 0 and _int(get_info(token, used)) >= maximum:
            return "Authentication counter exceeded"
    return ""


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def inc_fail_on_false_pin(session: Session) -> bool:
    """privacyIDEA's ``IncFailCountOnFalsePin``: a wrong PIN counts a failure of every
    candidate token (unset: true)."""
    value = session.scalar(
        select(ConfigSetting.value).where(ConfigSetting.key == "IncFailCountOnFalsePin")
    )
    return True if value is None or value == "" else is_true(value)


def increment_failcount(session: Session, token: Token) -> None:
    """failcount + 1 in the database, never beyond maxfail; reaching maxfail writes
    ``failcounter_exceeded``."""
    stmt = (
        update(Token)
        .where(Token.id == token.id, Token.failcount < Token.maxfail)
        .values(failcount=Token.failcount + 1)
    )
    result = session.execute(stmt, execution_options={"synchronize_session": False})
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return
    row = session.execute(select(Token.failcount, Token.maxfail).where(Token.id == token.id)).one()
    set_committed_value(token, "failcount", row.failcount)
    if row.failcount >= row.maxfail:
        put_info(session, token.id, "failcounter_exceeded", timestamp())


def record_replay(session: Session, token: Token, now: float) -> None:
    """An OTP (or challenge answer) that was already used came again: counted in
    tokeninfo ``replay_count`` with the time in ``last_replay``, not as a failure —
    whoever saw one OTP must not be able to lock its owner's token with it. Event
    definitions read both (``tokeninfo: replay_count > 3``)."""
    bump_info(session, token.id, "replay_count")
    put_info(session, token.id, "last_replay", timestamp(datetime.fromtimestamp(now, UTC)))


def reset_failcount(session: Session, token: Token) -> None:
    if token.failcount == 0:
        return
    stmt = update(Token).where(Token.id == token.id).values(failcount=0)
    session.execute(stmt, execution_options={"synchronize_session": False})
    set_committed_value(token, "failcount", 0)


def accept(
    session: Session, token: Token, ttype: TokenType, counter: int, *, now: float, message: str
) -> CheckResult:
    """The success bookkeeping: fail counter reset, ``last_auth``, counters, type
    follow-up; registration tokens delete themselves here."""
    reset_failcount(session, token)
    # One statement for the keys every success writes. The attempt's count_auth stays
    # the caller's, before the OTP claim: every attempt, failed or not, locks that row
    # before the token's, and a success that locked the token first could deadlock
    # with a concurrent failure on PostgreSQL and MariaDB.
    write_info(session, token.id, {
        "count_auth_success": Increment(),
        "last_auth": timestamp(datetime.fromtimestamp(now, UTC)),
    })  # fmt: skip
    ttype.after_success(session, counter, now)
    result = CheckResult(True, message, token, ttype.type_name)
    if ttype.deletes_after_success:
        otplen = token.otplen
        session.delete(token)
        session.flush()
        result.token = None
        result.extra = {"serial": token.serial, "type": ttype.type_name, "otplen": otplen}
    return result
