"""Conditions on the user of the request and on the logged-in principal."""

from __future__ import annotations

from typing import Any

from factorflow.core.compare import (
    Comparison,
    ComparisonError,
    parse_comparison,
    parse_integer_comparison,
)
from factorflow.events.conditions.base import (
    Condition,
    ConditionResult,
    Matched,
    NotMatched,
    Unknown,
    parse_list,
    verdict,
)
from factorflow.events.facts import Facts


def check_realm(facts: Facts, realms: frozenset[str]) -> ConditionResult:
    user = facts.user
    if user is None:
        return Unknown("the request has no user")
    return verdict(user.realm in realms, f"the user's realm is {user.realm!r}")


def check_resolver(facts: Facts, resolvers: frozenset[str]) -> ConditionResult:
    user = facts.user
    if user is None:
        return Unknown("the request has no user")
    return verdict(user.resolver in resolvers, f"the user's resolver is {user.resolver!r}")


def parse_generic(text: str) -> Comparison:
    try:
        return parse_comparison(text)
    except ComparisonError as exc:
        raise ValueError(str(exc)) from None


def parse_integer(text: str) -> Comparison:
    try:
        return parse_integer_comparison(text)
    except ComparisonError as exc:
        raise ValueError(str(exc)) from None


def check_user_info(facts: Facts, comparison: Comparison) -> ConditionResult:
    user = facts.user
    if user is None:
        return Unknown("the request has no user")
    if comparison.key not in user.attributes:
        return Unknown(f"the user has no attribute {comparison.key!r}")
    value = user.attributes[comparison.key]
    ok = comparison.evaluate(value, facts.now)
    return verdict(ok, f"{comparison.key} is {value[:80]!r}")


def parse_role(text: str) -> str:
    value = text.strip().lower()
    if value not in ("admin", "user"):
        raise ValueError(f"{text!r} is not admin or user")
    return value


def check_logged_in_user(facts: Facts, role: str) -> ConditionResult:
    actual = facts.inv.actor.role
    if actual == "none":
        # privacyIDEA treats "nobody logged in" (e.g. /validate/check) as role user.
        return Unknown("nobody is logged in", compat=role == "user")
    return (
        Matched(f"the caller is {actual}")
        if actual == role
        else NotMatched(f"the caller is {actual}")
    )


def check_user_token_number(facts: Facts, comparison: Comparison) -> ConditionResult:
    count = facts.user_token_count
    if count is None:
        return Unknown("the request has no user", compat=True)
    return verdict(comparison.evaluate(str(count)), f"the user has {count} tokens")


CONDITIONS: tuple[Condition[Any], ...] = (
    Condition(
        "realm",
        "user",
        "multi",
        "The user is in one of these realms.",
        parse_list,
        check_realm,
        choices_from="realms",
        label="User realm",
    ),
    Condition(
        "resolver",
        "user",
        "multi",
        "The user is in one of these resolvers.",
        parse_list,
        check_resolver,
        choices_from="resolvers",
        label="User resolver",
    ),
    Condition(
        "user_info",
        "user",
        "str",
        "A user attribute compared with a value, e.g. email matches .*@example.org.",
        parse_generic,
        check_user_info,
        label="User attribute",
    ),
    Condition(
        "logged_in_user",
        "user",
        "str",
        "The role of the logged-in principal.",
        parse_role,
        check_logged_in_user,
        choices=("admin", "user"),
        label="Logged-in role",
    ),
    Condition(
        "user_token_number",
        "user",
        "str",
        "The number of tokens of the user, e.g. >2 or 0.",
        parse_integer,
        check_user_token_number,
        label="Number of the user's tokens",
    ),
)
