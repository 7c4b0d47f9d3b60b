"""Regular expressions an administrator configures, checked so that none can make
every request slow.

Conditions (``serial``, ``detail_message``, ``tokeninfo ... matches ...``) and the
RequestMangler run admin-written patterns against request data on every matching
request, with Python's backtracking engine and no time limit. :func:`check_pattern`
refuses, when the definition is saved, the constructs that backtrack exponentially:

* a repeated group that itself repeats a variable amount — ``(a+)+``, ``(\\d*,)*``,
  ``(.*a){20}`` (nested quantifiers, "star height" above one);
* a repeated alternation whose branches can start alike — ``(a|a)*``, ``(\\w|\\d)+``,
  ``(a|)+`` (only branches that start with distinct literal characters pass);
* backreferences (``\\1``, ``(?(1)...)``), which no engine matches in bounded time;
* patterns longer than :data:`MAX_PATTERN` characters or counts above
  :data:`MAX_COUNT` (``a{100000}``).

An atomic group ``(?>...)`` or a possessive quantifier (``a++``) never backtracks
into its content, so ``(?>\\d+\\.)+`` passes: that is the way to write such a
pattern. What the check cannot see is polynomial backtracking of adjacent
quantifiers (``.*a.*b.*c``); :func:`too_long` therefore bounds the text a pattern
is run against (:data:`MAX_SUBJECT` characters; a longer value is not matched).

The pattern is read with the standard library's own regular-expression parser
(``re._parser``, which ``re.compile`` uses), so the check sees exactly what runs.
"""

from __future__ import annotations

import re
from re import _parser  # type: ignore[attr-defined]  # the parser re.compile uses
from typing import Any

MAX_PATTERN = 1000
MAX_COUNT = 1000
#: Longer texts are not matched against configured patterns (see the module doc).
MAX_SUBJECT = 4096

_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT"})
_UNBOUNDED = int(_parser.MAXREPEAT)
_HINT = "; write it with a possessive quantifier (a++) or an atomic group (?>...)"


class UnsafePatternError(ValueError):
    """A pattern that could make matching take exponential time; the message says why."""


def too_long(text: str) -> bool:
    """Whether ``text`` is too long to run a configured pattern against."""
    return len(text) > MAX_SUBJECT


def check_pattern(pattern: str) -> re.Pattern[str]:
    """Compile ``pattern`` after refusing what could backtrack without bound."""
    if len(pattern) > MAX_PATTERN:
        raise UnsafePatternError(f"the regular expression is longer than {MAX_PATTERN} characters")
    try:
        compiled = re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        raise UnsafePatternError(
            f"{pattern[:80]!r} is not a valid regular expression: {exc}"
        ) from None
    _walk(list(_parser.parse(pattern)))
    return compiled


def _name(op: Any) -> str:
    return str(getattr(op, "name", op))


def _walk(items: list[tuple[Any, Any]]) -> bool:
    """Check a parsed (sub)pattern; whether it repeats anything a variable amount
    (which a repetition around it must not repeat again)."""
    variable = False
    for op, av in items:
        name = _name(op)
        if name in _REPEATS or name == "POSSESSIVE_REPEAT":
            variable |= _repeat(name, av)
        elif name == "SUBPATTERN":
            variable |= _walk(list(av[3]))
        elif name == "BRANCH":
            for branch in av[1]:
                variable |= _walk(list(branch))
        elif name in ("ASSERT", "ASSERT_NOT"):
            variable |= _walk(list(av[1]))
        elif name == "ATOMIC_GROUP":
            _walk(list(av))  # no backtracking into it: nothing to propagate
        elif name in ("GROUPREF", "GROUPREF_EXISTS", "GROUPREF_IGNORE"):
            raise UnsafePatternError("backreferences (\\1, (?(1)...)) are not allowed")
    return variable


def _repeat(name: str, av: tuple[int, int, Any]) -> bool:
    low, high, body = av
    items = list(body)
    if low > MAX_COUNT or (high != _UNBOUNDED and high > MAX_COUNT):
        raise UnsafePatternError(f"repetition counts above {MAX_COUNT} are not allowed")
    inner = _walk(items)
    if name == "POSSESSIVE_REPEAT":
        return False  # never gives back what it matched
    if high > 1 and inner:
        raise UnsafePatternError(
            "a repeated group repeats again inside (like (a+)+), which can take "
            "exponential time" + _HINT
        )
    if high > 1 and _ambiguous(items):
        raise UnsafePatternError(
            "a repeated alternation whose branches can match alike (like (a|a)*) can "
            "take exponential time" + _HINT
        )
    return low != high


def _ambiguous(items: list[tuple[Any, Any]]) -> bool:
    """Whether an alternation directly in a repeated body has branches that do not
    start with distinct literal characters (or an empty branch)."""
    for op, av in items:
        name = _name(op)
        if name == "SUBPATTERN" and _ambiguous(list(av[3])):
            return True
        if name == "BRANCH":
            firsts: list[int] = []
            for branch in av[1]:
                first = list(branch)[:1]
                if not first or _name(first[0][0]) != "LITERAL":
                    return True
                firsts.append(int(first[0][1]))
            if len(set(firsts)) != len(firsts):
                return True
    return False


__all__ = ["MAX_SUBJECT", "UnsafePatternError", "check_pattern", "too_long"]
