"""Challenge conditions. Looked up only when configured (unlike privacyIDEA, which
queries challenges for every definition). Factorflow keeps no challenges yet, so
both answer unknown; privacyIDEA skips them when no challenge is found (compat)."""

from __future__ import annotations

import re
from typing import Any

from factorflow.events.conditions.base import Condition, ConditionResult, Unknown, parse_bool
from factorflow.events.conditions.general import parse_regex
from factorflow.events.facts import Facts

NO_CHALLENGES = "challenge data is not available"


def check_challenge_session(facts: Facts, pattern: re.Pattern[str]) -> ConditionResult:
    return Unknown(NO_CHALLENGES, compat=True)


def check_challenge_expired(facts: Facts, expected: bool) -> ConditionResult:
    return Unknown(NO_CHALLENGES, compat=True)


CONDITIONS: tuple[Condition[Any], ...] = (
    Condition(
        "challenge_session",
        "challenge",
        "regexp",
        "A regular expression matched against the session of the request's challenge.",
        parse_regex,
        check_challenge_session,
    ),
    Condition(
        "challenge_expired",
        "challenge",
        "str",
        "The request's challenge has expired.",
        parse_bool,
        check_challenge_expired,
        choices=("True", "False"),
    ),
)
