"""Challenge rows: creation, lookup, the one-time claim of an answer, and listing.

All functions take the caller's unit-of-work session and never commit. Times are
unix seconds (``now``) so that tests and the validate service agree on one clock.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from factorflow.tokens.base import IssuedChallenge
from factorflow.tokens.models import Challenge, Token

#: privacyIDEA's transaction ids are 20 decimal digits; RADIUS clients pass them on
#: as the State attribute, so they stay digits.
TRANSACTION_ID_DIGITS = 20
#: Expired challenges are kept this long for polling and auditing, then removed
#: when their token gets its next challenge.
KEEP_EXPIRED = timedelta(hours=1)


def new_transaction_id() -> str:
    return f"{secrets.randbelow(10**TRANSACTION_ID_DIGITS):0{TRANSACTION_ID_DIGITS}d}"


def moment(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


def add_challenge(
    session: Session,
    token: Token,
    transaction_id: str,
    issued: IssuedChallenge,
    *,
    now: float,
    validity: int,
) -> Challenge:
    """Store the challenge ``issued`` for ``token`` and drop the token's challenges
    that expired long ago."""
    created = moment(now)
    session.execute(
        delete(Challenge).where(
            Challenge.token_id == token.id, Challenge.expiration < created - KEEP_EXPIRED
        ),
        execution_options={"synchronize_session": False},
    )
    row = Challenge(
        transaction_id=transaction_id,
        serial=token.serial,
        token_id=token.id,
        otp_counter=issued.otp_counter,
        session="",
        expiration=created + timedelta(seconds=validity),
        otp_valid=False,
        received_count=0,
        created_at=created,
        data={
            "message": issued.message,
            "client_mode": issued.client_mode,
            "attributes": issued.attributes,
            **issued.data,
        },
    )
    session.add(row)
    session.flush()
    return row


def for_transaction(session: Session, transaction_id: str) -> list[Challenge]:
    stmt = (
        select(Challenge).where(Challenge.transaction_id == transaction_id).order_by(Challenge.id)
    )
    return list(session.scalars(stmt))


def for_token(session: Session, token_id: int) -> list[Challenge]:
    stmt = select(Challenge).where(Challenge.token_id == token_id).order_by(Challenge.id)
    return list(session.scalars(stmt))


def count_received(session: Session, challenge: Challenge) -> None:
    """One more answer arrived for ``challenge`` (right or wrong)."""
    session.execute(
        update(Challenge)
        .where(Challenge.id == challenge.id)
        .values(received_count=Challenge.received_count + 1),
        execution_options={"synchronize_session": False},
    )


def claim_answer(session: Session, challenge: Challenge, now: float) -> bool:
    """Mark ``challenge`` answered: ``SET otp_valid = true WHERE otp_valid = false AND
    expiration > now``. Only the request whose update changed the row may accept; a
    replay or a concurrent duplicate gets False."""
    at = moment(now)
    result = session.execute(
        update(Challenge)
        .where(
            Challenge.id == challenge.id,
            Challenge.otp_valid.is_(False),
            Challenge.expiration > at,
        )
        .values(otp_valid=True, answered_at=at),
        execution_options={"synchronize_session": False},
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


#: Session markers of challenges answered on a device (``TokenType.answered_on_device``).
DECLINED = "challenge_declined"
COLLECTED = "challenge_collected"


def _claim(
    session: Session, challenge: Challenge, now: float, *, answered: bool, values: dict[str, Any]
) -> bool:
    """Move an open challenge (session marker "") whose ``otp_valid`` is ``answered``
    on to ``values`` with one conditional UPDATE; only the request whose update
    changed the row gets True."""
    at = moment(now)
    result = session.execute(
        update(Challenge)
        .where(
            Challenge.id == challenge.id,
            Challenge.otp_valid.is_(answered),
            Challenge.session == "",
            Challenge.expiration > at,
        )
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def confirm_on_device(session: Session, challenge: Challenge, now: float) -> bool:
    """The device accepted ``challenge`` (once, before it expires)."""
    values = {"otp_valid": True, "answered_at": moment(now)}
    return _claim(session, challenge, now, answered=False, values=values)


def decline_on_device(session: Session, challenge: Challenge, now: float) -> bool:
    """The device declined ``challenge`` (once, before it expires)."""
    values = {"session": DECLINED, "answered_at": moment(now)}
    return _claim(session, challenge, now, answered=False, values=values)


def collect_confirmed(session: Session, challenge: Challenge, now: float) -> bool:
    """``/validate/check`` takes the device's acceptance of ``challenge``: once."""
    return _claim(session, challenge, now, answered=True, values={"session": COLLECTED})


def is_expired(challenge: Challenge, now: float) -> bool:
    return challenge.expiration <= moment(now)


def status(challenges: list[Challenge], now: float) -> str:
    """privacyIDEA's ``challenge_status`` of a transaction: accept, declined,
    cancelled or pending. Expired challenges count as not there."""
    live = [c for c in challenges if not is_expired(c, now)]
    if any(c.otp_valid for c in live):
        return "accept"
    for marker, name in (("challenge_declined", "declined"), ("challenge_cancelled", "cancelled")):
        if any(c.session == marker for c in live):
            return name
    return "pending"


def delete_transaction(session: Session, transaction_id: str) -> int:
    """Remove every challenge of ``transaction_id``; returns how many there were."""
    result = session.execute(
        delete(Challenge).where(Challenge.transaction_id == transaction_id),
        execution_options={"synchronize_session": False},
    )
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def describe(challenge: Challenge) -> dict[str, Any]:
    """A challenge as ``GET /token/challenges/`` shows it (privacyIDEA's fields)."""
    return {
        "id": challenge.id,
        "transaction_id": challenge.transaction_id,
        "serial": challenge.serial,
        "session": challenge.session,
        "otp_valid": challenge.otp_valid,
        "received_count": challenge.received_count,
        "timestamp": challenge.created_at.isoformat(),
        "expiration": challenge.expiration.isoformat(),
        "answered": challenge.answered_at.isoformat() if challenge.answered_at else None,
        "data": challenge.data,
    }


def list_challenges(
    session: Session,
    token_ids: list[int] | None,
    *,
    transaction_id: str = "",
    page: int = 1,
    page_size: int = 15,
    visible: Select[Any] | None = None,
) -> dict[str, Any]:
    """Challenges of the given tokens (None: all), newest first, one page of them;
    ``visible`` (a select of token ids) limits them to the tokens the caller may see."""
    query = select(Challenge)
    if token_ids is not None:
        query = query.where(Challenge.token_id.in_(token_ids))
    if visible is not None:
        query = query.where(Challenge.token_id.in_(visible))
    if transaction_id:
        query = query.where(Challenge.transaction_id == transaction_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Challenge.id.desc()).offset((page - 1) * page_size).limit(page_size)
    )
    pages = (total + page_size - 1) // page_size
    return {
        "challenges": [describe(row) for row in rows],
        "count": total,
        "current": page,
        "prev": page - 1 if page > 1 else None,
        "next": page + 1 if page < pages else None,
    }
