"""AND / OR / NOT over condition names with three-valued logic."""

from __future__ import annotations

import pytest

from factorflow.events.conditions.base import Verdict
from factorflow.events.conditions.expression import (
    ExpressionError,
    combine_and,
    evaluate,
    parse_expression,
)

NAMES = frozenset({"a", "b", "c"})
M: Verdict = "matched"
N: Verdict = "not_matched"
U: Verdict = "unknown"


def run(text: str, **values: Verdict) -> Verdict:
    node = parse_expression(text, NAMES)
    assert node is not None
    return evaluate(node, values)


def test_precedence_and_parentheses() -> None:
    m, n = M, N
    assert run("a OR b AND c", a=m, b=n, c=n) == "matched"
    assert run("(a OR b) AND c", a=m, b=n, c=n) == "not_matched"
    assert run("NOT a", a=n) == "matched"
    assert run("not (a and b) or c", a=m, b=m, c=n) == "not_matched"


def test_kleene_logic() -> None:
    u, m, n = U, M, N
    assert run("a AND b", a=u, b=m) == "unknown"
    assert run("a AND b", a=u, b=n) == "not_matched"
    assert run("a OR b", a=u, b=m) == "matched"
    assert run("a OR b", a=u, b=n) == "unknown"
    assert run("NOT a", a=u) == "unknown"
    assert combine_and([]) == "matched"


def test_empty_expression() -> None:
    assert parse_expression("   ", NAMES) is None


@pytest.mark.parametrize(
    "text", ["a AND", "a b", "(a OR b", "a OR d", "AND a", "a & b", "()", "NOT"]
)
def test_refused(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text, NAMES)
