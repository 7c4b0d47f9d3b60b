"""Challenge conditions, looked up only when configured (unlike privacyIDEA, which
queries challenges for every definition and silently skips a definition when a token
has more than one).

The challenge is the one of the request's single token under the request's
``transaction_id`` (or ``state``, as the FreeRADIUS plugin sends it), or the
transaction id of a challenge answer in the reply. Without one the condition is
unknown; privacyIDEA treats a missing challenge as fulfilled (compat).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from factorflow.core.safe_regex import too_long
from factorflow.events.conditions.base import (
    Condition,
    ConditionResult,
    Unknown,
    parse_bool,
    verdict,
)
from factorflow.events.conditions.general import parse_regex
from factorflow.events.conditions.token import UNIDENTIFIED
from factorflow.events.facts import Facts
from factorflow.tokens.models import Challenge


def transaction_id(facts: Facts) -> str:
    for name in ("transaction_id", "state"):
        value = facts.param(name)
        if value:
            return value
    detail = (facts.response or {}).get("detail") or {}
    found = detail.get("transaction_id") if isinstance(detail, dict) else None
    return found if isinstance(found, str) else ""


def request_challenge(facts: Facts) -> Challenge | Unknown:
    """The request's challenge, or why the condition is unknown."""
    if facts.token_unidentified:
        return Unknown(UNIDENTIFIED)
    token = facts.token
    if token is None:
        return Unknown("there is not exactly one token", compat=True)
    tid = transaction_id(facts)
    if not tid:
        return Unknown("the request has no transaction_id", compat=True)
    found = facts.session.scalars(
        select(Challenge)
        .where(Challenge.token_id == token.id, Challenge.transaction_id == tid)
        .order_by(Challenge.id.desc())
    ).first()
    if found is None:
        return Unknown(f"token {token.serial} has no challenge {tid}", compat=True)
    return found


def check_challenge_session(facts: Facts, pattern: re.Pattern[str]) -> ConditionResult:
    challenge = request_challenge(facts)
    if isinstance(challenge, Unknown):
        return challenge
    session = challenge.session or ""
    matched = not too_long(session) and pattern.match(session) is not None
    return verdict(matched, f"the challenge session is {session[:80]!r}")


def check_challenge_expired(facts: Facts, expected: bool) -> ConditionResult:
    challenge = request_challenge(facts)
    if isinstance(challenge, Unknown):
        return challenge
    expired = challenge.expiration <= facts.now
    state = "expired" if expired else "valid"
    return verdict(expired == expected, f"the challenge is {state}")


CONDITIONS: tuple[Condition[Any], ...] = (
    Condition(
        "challenge_session",
        "challenge",
        "regexp",
        "A regular expression matched against the session of the request's challenge.",
        parse_regex,
        check_challenge_session,
        label="Challenge session",
    ),
    Condition(
        "challenge_expired",
        "challenge",
        "str",
        "The request's challenge has expired.",
        parse_bool,
        check_challenge_expired,
        choices=("True", "False"),
        label="Challenge expired",
    ),
)
