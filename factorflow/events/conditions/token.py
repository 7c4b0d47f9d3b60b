"""Conditions on the token of the request (only when exactly one token is known).

Without exactly one token every token condition is unknown; privacyIDEA treats
that case leniently (the condition holds), which ``compat`` records. After a
check that named no token (its PIN was wrong) they are unknown without that
leniency: the token was not identified (see :mod:`factorflow.events.facts`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from factorflow.core.compare import (
    Comparison,
    ComparisonError,
    parse_date,
    parse_duration,
)
from factorflow.core.safe_regex import too_long
from factorflow.errors import FactorflowError
from factorflow.events.conditions.base import (
    Condition,
    ConditionResult,
    Matched,
    NotMatched,
    Unknown,
    parse_bool,
    parse_list,
    parse_text,
    verdict,
)
from factorflow.events.conditions.general import parse_regex
from factorflow.events.conditions.user import parse_generic, parse_integer
from factorflow.events.facts import Facts
from factorflow.tokens.info import get_info, parse_validity
from factorflow.tokens.models import Token

NO_TOKEN = "the request does not name exactly one token"  # noqa: S105
UNIDENTIFIED = "the check identified no token (the PIN was not right)"


def _token(facts: Facts) -> Token | Unknown:
    """The request's token, or why a token condition is unknown."""
    if facts.token_unidentified:
        return Unknown(UNIDENTIFIED)
    token = facts.token
    return token if token is not None else Unknown(NO_TOKEN, compat=True)


def check_tokentype(facts: Facts, types: frozenset[str]) -> ConditionResult:
    token = _token(facts)
    if isinstance(token, Unknown):
        return token
    return verdict(
        token.tokentype.lower() in {t.lower() for t in types},
        f"the token type is {token.tokentype}",
    )


def check_serial(facts: Facts, pattern: re.Pattern[str]) -> ConditionResult:
    serials = facts.serials
    if facts.token_unidentified:
        return Unknown(UNIDENTIFIED)
    if not serials:
        return Unknown("the request names no serial", compat=True)
    # privacyIDEA matches the comma list as one string; each serial is matched here.
    misses = [s for s in serials if too_long(s) or pattern.match(s) is None]
    if misses:
        return NotMatched(f"serial {misses[0]!r} does not match")
    return Matched(f"serial {', '.join(serials)[:80]} matches")


def token_realms(token: Token) -> set[str]:
    return {member.realm.name for member in token.realms}


def check_tokenrealm(facts: Facts, realms: frozenset[str]) -> ConditionResult:
    token = _token(facts)
    if isinstance(token, Unknown):
        return token
    mine = token_realms(token)
    if not mine:
        return Unknown("the token is in no realm", compat=True)
    return verdict(bool(mine & realms), f"the token realms are {sorted(mine)}")


def check_tokenresolver(facts: Facts, resolvers: frozenset[str]) -> ConditionResult:
    token = _token(facts)
    if isinstance(token, Unknown):
        return token
    mine = {m.resolver.name for tr in token.realms for m in tr.realm.members}
    if not mine:
        return Unknown("the token's realms have no resolvers", compat=True)
    return verdict(bool(mine & resolvers), f"the token resolvers are {sorted(mine)}")


def check_token_active(facts: Facts, expected: bool) -> ConditionResult:
    token = _token(facts)
    if isinstance(token, Unknown):
        return token
    return verdict(token.active == expected, "active" if token.active else "disabled")


def check_token_locked(facts: Facts, expected: bool) -> ConditionResult:
    token = _token(facts)
    if isinstance(token, Unknown):
        # privacyIDEA looks at "any locked token of the user" here and ignores the
        # configured value; Factorflow answers unknown instead.
        return Unknown(token.reason)
    locked = token.failcount >= token.maxfail
    return verdict(locked == expected, f"fail counter {token.failcount} of {token.maxfail}")


def check_token_has_owner(facts: Facts, expected: bool) -> ConditionResult:
    token = _token(facts)
    if isinstance(token, Unknown):
        return token
    has = token.owner is not None
    return verdict(has == expected, "the token has an owner" if has else "the token has no owner")


def check_token_is_orphaned(facts: Facts, expected: bool) -> ConditionResult:
    token = _token(facts)
    if isinstance(token, Unknown):
        return token
    orphaned = token.owner is not None and facts.owner_of(token) is None
    return verdict(orphaned == expected, f"orphaned is {orphaned}")


def check_token_validity_period(facts: Facts, expected: bool) -> ConditionResult:
    token = _token(facts)
    if isinstance(token, Unknown):
        return token
    try:
        start = get_info(token, "validity_period_start")
        end = get_info(token, "validity_period_end")
        valid = (not start or parse_validity(start) <= facts.now) and (
            not end or facts.now <= parse_validity(end)
        )
    except FactorflowError:
        return Unknown("the token's validity period does not parse", compat=True)
    return verdict(valid == expected, "within its validity period" if valid else "not valid now")


def _integer_check(
    name: str, read: Callable[[Token], int | None]
) -> Callable[[Facts, Comparison], ConditionResult]:
    def check(facts: Facts, comparison: Comparison) -> ConditionResult:
        token = _token(facts)
        if isinstance(token, Unknown):
            return token
        value = read(token)
        if value is None:
            return Unknown(f"the token's {name} is not a number")
        return verdict(comparison.evaluate(str(value)), f"{name} is {value}")

    return check


def _info_int(token: Token, key: str) -> int | None:
    try:
        return int(get_info(token, key, "0") or "0")
    except ValueError:
        return None


def _count_fail(token: Token) -> int | None:
    total, success = _info_int(token, "count_auth"), _info_int(token, "count_auth_success")
    return None if total is None or success is None else total - success


def parse_last_auth(text: str) -> str:
    try:
        parse_duration(text)
    except ComparisonError as exc:
        raise ValueError(str(exc)) from None
    return text.strip()


def check_last_auth(facts: Facts, duration: str) -> ConditionResult:
    token = _token(facts)
    if isinstance(token, Unknown):
        return token
    raw = get_info(token, "last_auth")
    if not raw:
        return Unknown("the token was never used")
    try:
        when = parse_date(raw)
    except ComparisonError:
        return Unknown(f"last_auth {raw[:40]!r} does not parse", compat=True)
    older = facts.now - when > parse_duration(duration)
    return verdict(older, f"last used {when.isoformat(timespec='seconds')}")


def check_tokeninfo(facts: Facts, comparison: Comparison) -> ConditionResult:
    token = _token(facts)
    if isinstance(token, Unknown):
        return token
    marker = object()
    value: Any = marker
    for item in token.info:
        if item.key == comparison.key:
            value = item.value
    if value is marker:
        return Unknown(f"the token has no tokeninfo {comparison.key!r}")
    return verdict(comparison.evaluate(value, facts.now), f"{comparison.key} is {value[:80]!r}")


def check_rollout_state(facts: Facts, expected: str) -> ConditionResult:
    token = _token(facts)
    if isinstance(token, Unknown):
        return token
    actual = token.rollout_state or "enrolled"
    wanted = expected or "enrolled"
    return verdict(actual == wanted, f"the rollout state is {actual!r}")


BOOL = ("True", "False")
INT = "An integer comparison, e.g. >5, '<'100 or 0."

CONDITIONS: tuple[Condition[Any], ...] = (
    Condition(
        "tokentype",
        "token",
        "multi",
        "The token is of one of these types.",
        parse_list,
        check_tokentype,
        choices_from="tokentypes",
        label="Token type",
    ),
    Condition(
        "serial",
        "token",
        "regexp",
        "A regular expression matched at the start of the serial.",
        parse_regex,
        check_serial,
        label="Serial",
    ),
    Condition(
        "tokenrealm",
        "token",
        "multi",
        "The token is in one of these realms.",
        parse_list,
        check_tokenrealm,
        choices_from="realms",
        label="Token realm",
    ),
    Condition(
        "tokenresolver",
        "token",
        "multi",
        "A realm of the token contains one of these resolvers.",
        parse_list,
        check_tokenresolver,
        choices_from="resolvers",
        label="Token resolver",
    ),
    Condition(
        "token_locked",
        "token",
        "str",
        "The fail counter of the token reached its maximum.",
        parse_bool,
        check_token_locked,
        choices=BOOL,
        label="Token locked",
    ),
    Condition(
        # Factorflow's: a workflow step re-checks "still disabled" with it.
        "token_active",
        "token",
        "str",
        "The token is active (not disabled).",
        parse_bool,
        check_token_active,
        choices=BOOL,
        label="Token active",
    ),
    Condition(
        "token_has_owner",
        "token",
        "str",
        "The token is assigned to a user.",
        parse_bool,
        check_token_has_owner,
        choices=BOOL,
        label="Token has an owner",
    ),
    Condition(
        "token_is_orphaned",
        "token",
        "str",
        "The token's owner no longer exists in the user store.",
        parse_bool,
        check_token_is_orphaned,
        choices=BOOL,
        label="Token owner gone",
    ),
    Condition(
        "token_validity_period",
        "token",
        "str",
        "Now is within the token's validity period.",
        parse_bool,
        check_token_validity_period,
        choices=BOOL,
        label="Within the validity period",
    ),
    Condition(
        "otp_counter",
        "token",
        "str",
        INT,
        parse_integer,
        _integer_check("otp counter", lambda t: t.otp_counter),
        label="OTP counter",
    ),
    Condition(
        "last_auth",
        "token",
        "str",
        "The token was last used longer ago than this, e.g. 10h, 7d, 1y.",
        parse_last_auth,
        check_last_auth,
        label="Last authentication",
    ),
    Condition(
        "count_auth",
        "token",
        "str",
        INT,
        parse_integer,
        _integer_check("count_auth", lambda t: _info_int(t, "count_auth")),
        label="Authentications",
    ),
    Condition(
        "count_auth_success",
        "token",
        "str",
        INT,
        parse_integer,
        _integer_check("count_auth_success", lambda t: _info_int(t, "count_auth_success")),
        label="Successful authentications",
    ),
    Condition(
        "count_auth_fail",
        "token",
        "str",
        INT,
        parse_integer,
        _integer_check("count_auth_fail", _count_fail),
        label="Failed authentications",
    ),
    Condition(
        "failcounter",
        "token",
        "str",
        INT,
        parse_integer,
        _integer_check("failcounter", lambda t: t.failcount),
        label="Fail counter",
    ),
    Condition(
        "tokeninfo",
        "token",
        "str",
        "A tokeninfo value compared with a value, e.g. locked < {now}-7d.",
        parse_generic,
        check_tokeninfo,
        label="Tokeninfo value",
    ),
    Condition(
        "rollout_state",
        "token",
        "str",
        "The rollout state of the token.",
        parse_text,
        check_rollout_state,
        label="Rollout state",
    ),
)
