"""privacyIDEA's comparison mini-language for conditions, parsed once on save.

Two forms (reference §3.3):

* **generic** ``<key> <comparator> <value>`` (``tokeninfo``, ``user_info``, ``counter``),
  e.g. ``locked < {now}-7d``, ``group 'in' staff,admins``, ``email matches .*@example\\.org``;
* **integer** ``[<comparator>]<number>`` (``failcounter``, ``otp_counter``, ...),
  e.g. ``>5``, ``'<'100``, ``==0`` or a bare ``7`` (equals).

Comparators are found in this order, splitting on the first that occurs exactly
once: quoted words and symbols (``'matches'``, ``'<'``), then unquoted words
surrounded by blanks (``key matches ^a``), then unquoted symbols (``==``, ``!=``,
``<=``, ``=<``, ``>=``, ``=>``, ``<``, ``>``, ``=``). Without a comparator the whole
text is the value and the comparator is *equals*.

Deliberate differences from privacyIDEA: ``{now}±N[smhd]`` works with or without
blanks around the sign; ``{now}`` is substituted by a regular expression, never
``str.format``, so other braces stay text; naive timestamps are read as UTC, so a
naive and an aware date compare instead of failing; a comparison that cannot be
parsed is refused when the definition is saved.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from factorflow.core import dates
from factorflow.core.dates import substitute_now
from factorflow.core.safe_regex import UnsafePatternError, check_pattern, too_long

WORD_COMPARATORS = (
    "equals",
    "!equals",
    "contains",
    "!contains",
    "matches",
    "!matches",
    "in",
    "!in",
    "date_before",
    "date_after",
    "date_within_last",
    "!date_within_last",
    "string_contains",
    "!string_contains",
)
SYMBOL_COMPARATORS = ("==", "!=", "<=", "=<", ">=", "=>", "<", ">", "=")
INTEGER_COMPARATORS = ("equals", "!equals", "==", "!=", "<=", "=<", ">=", "=>", "<", ">", "=")
_ALIASES = {"==": "equals", "=": "equals", "!=": "!equals", "=<": "<=", "=>": ">="}


class ComparisonError(ValueError):
    """A condition text that does not parse; the message says why."""


def parse_duration(text: str) -> timedelta:
    """``<int><s|m|h|d|y>`` (y = 365 days) → timedelta; ComparisonError otherwise."""
    try:
        return dates.parse_duration(text)
    except dates.DateError as exc:
        raise ComparisonError(str(exc)) from None


def check_now_offsets(text: str) -> None:
    """Refuse a ``{now}±N`` offset in ``text`` beyond 100 years (ComparisonError)."""
    try:
        dates.check_now_offsets(text)
    except dates.DateError as exc:
        raise ComparisonError(str(exc)) from None


def parse_date(text: str) -> datetime:
    """ISO-8601 (:func:`factorflow.core.dates.parse_iso`); ComparisonError otherwise."""
    try:
        return dates.parse_iso(text)
    except dates.DateError as exc:
        raise ComparisonError(str(exc)) from None


def _as_int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _as_date(text: str) -> datetime | None:
    try:
        return parse_date(text)
    except ComparisonError:
        return None


def _csv_items(text: str) -> list[str]:
    rows = list(csv.reader([text], skipinitialspace=True, escapechar="\\"))
    return [item.strip() for item in rows[0]] if rows else []


@dataclass(frozen=True)
class Comparison:
    """A parsed condition text: ``key`` (empty for integer comparisons), the
    canonical comparator and the raw right-hand value (``{now}`` still in it)."""

    key: str
    comparator: str
    value: str

    def right(self, now: datetime | None = None) -> str:
        return substitute_now(self.value, now)

    def evaluate(self, left: str | int | list[str] | None, now: datetime | None = None) -> bool:
        """Compare ``left`` (the live value) with the configured value."""
        return compare(left, self.comparator, self.right(now))


def _split(text: str, tokens: tuple[str, ...], *, quoted: bool, words: bool) -> Comparison | None:
    for token in tokens:
        needle = f"'{token}'" if quoted else token
        if words and not quoted:
            parts = re.split(rf"(?<=\s){re.escape(token)}(?=\s)", text)
        else:
            parts = text.split(needle)
        if len(parts) == 2:
            return Comparison(parts[0].strip(), _ALIASES.get(token, token), parts[1].strip())
    return None


def parse_comparison(text: str) -> Comparison:
    """Parse a generic ``<key> <comparator> <value>`` text."""
    body = text.strip()
    if not body:
        raise ComparisonError("empty comparison")
    found = (
        _split(body, WORD_COMPARATORS + SYMBOL_COMPARATORS, quoted=True, words=False)
        or _split(body, WORD_COMPARATORS, quoted=False, words=True)
        or _split(body, SYMBOL_COMPARATORS, quoted=False, words=False)
    )
    if found is None:
        raise ComparisonError(f"{text!r} has no comparator: write e.g. key == value")
    if not found.key:
        raise ComparisonError(f"{text!r} names no key left of {found.comparator!r}")
    _check_right(found)
    return found


def parse_integer_comparison(text: str) -> Comparison:
    """Parse ``[<comparator>]<int>``; the value must be an integer."""
    body = text.strip()
    if not body:
        raise ComparisonError("empty comparison")
    found = _split(body, INTEGER_COMPARATORS, quoted=True, words=False) or _split(
        body, SYMBOL_COMPARATORS, quoted=False, words=False
    )
    if found is None:
        found = Comparison("", "equals", body)
    if found.key:
        raise ComparisonError(f"{text!r}: an integer comparison has nothing left of the comparator")
    if _as_int(found.value) is None:
        raise ComparisonError(f"{text!r}: {found.value!r} is not an integer")
    return found


def _check_right(comparison: Comparison) -> None:
    """Refuse right-hand values that can never be compared (checked on save)."""
    op = comparison.comparator.lstrip("!")
    check_now_offsets(comparison.value)
    right = comparison.right()
    if op in ("matches",):
        try:
            check_pattern(right)
        except UnsafePatternError as exc:
            raise ComparisonError(str(exc)) from None
    elif op in ("date_before", "date_after"):
        parse_date(right)
    elif op == "date_within_last":
        parse_duration(right)
    elif op in ("<=", ">=") and _as_int(right) is None:
        raise ComparisonError(f"{comparison.comparator} needs an integer, not {right!r}")


def _ordered(
    left: str, right: str
) -> tuple[int, int] | tuple[datetime, datetime] | tuple[str, str]:
    li, ri = _as_int(left), _as_int(right)
    if li is not None and ri is not None:
        return li, ri
    if li is None and ri is None:
        ld, rd = _as_date(left), _as_date(right)
        if ld is not None and rd is not None:
            return ld, rd
    return left, right


def compare(left: str | int | list[str] | None, comparator: str, right: str) -> bool:
    """Evaluate one comparison; a left value that cannot be compared yields False."""
    negate = comparator.startswith("!") and comparator != "!="
    op = comparator[1:] if negate else comparator
    if op == "matches" and isinstance(left, str) and too_long(left):
        return False  # neither matches nor !matches: too long to match safely
    result = _compare(left, op, right)
    return (not result) if negate else result


def _compare(left: str | int | list[str] | None, op: str, right: str) -> bool:
    if op in ("<=", ">="):
        number = 0 if left in (None, "") else _as_int(str(left))
        bound = _as_int(right)
        if number is None or bound is None:
            return False
        return number <= bound if op == "<=" else number >= bound
    if op == "contains":
        items = left if isinstance(left, list) else _csv_items(str(left or ""))
        return right in items
    if left is None or isinstance(left, list):
        return False
    text = str(left)
    if op == "equals":
        a, b = _ordered(text, right)
        return a == b
    if op in ("<", ">"):
        a, b = _ordered(text, right)
        try:
            return a < b if op == "<" else a > b  # type: ignore[operator]
        except TypeError:
            return False
    if op == "matches":
        return re.fullmatch(right, text) is not None
    if op == "in":
        return text in _csv_items(right)
    if op == "string_contains":
        return right.casefold() in text.casefold()
    if op in ("date_before", "date_after", "date_within_last"):
        return _compare_dates(text, op, right)
    return False


def _compare_dates(left: str, op: str, right: str) -> bool:
    moment = _as_date(left)
    if moment is None:
        return False
    if op == "date_within_last":
        try:
            return datetime.now(UTC) - moment < parse_duration(right)
        except ComparisonError:
            return False
    other = _as_date(right)
    if other is None:
        return False
    return moment < other if op == "date_before" else moment > other
