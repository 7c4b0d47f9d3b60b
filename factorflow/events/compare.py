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

from factorflow.events.limits import MAX_OFFSET
from factorflow.events.safe_regex import UnsafePatternError, check_pattern, too_long

#: ``{now}`` (or ``{current_time}``) with an optional offset, blanks allowed.
NOW_TAG = re.compile(r"\{(?:now|current_time)\}(?:\s*([+-])\s*(\d{1,9})\s*([smhd])(?![A-Za-z]))?")
DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhdy])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}

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


def _seconds(amount: str, unit: str, text: str) -> timedelta:
    """``amount`` units as a timedelta of at most 100 years (``MAX_OFFSET``); beyond
    it a ComparisonError naming ``text``: such a date fails every comparison."""
    seconds = int(amount) * _UNIT_SECONDS[unit]
    if seconds > MAX_OFFSET.total_seconds():
        raise ComparisonError(f"{text.strip()[:40]!r} is more than 100 years")
    return timedelta(seconds=seconds)


def parse_duration(text: str) -> timedelta:
    """``<int><s|m|h|d|y>`` (y = 365 days) → timedelta; ComparisonError otherwise."""
    match = DURATION.match(text)
    if not match:
        raise ComparisonError(f"{text!r} is not a duration like 12h, 7d or 1y")
    return _seconds(match.group(1), match.group(2), text)


def check_now_offsets(text: str) -> None:
    """Refuse a ``{now}±N`` offset in ``text`` beyond 100 years (ComparisonError)."""
    for match in NOW_TAG.finditer(text):
        if match.group(1):
            _seconds(match.group(2), match.group(3), match.group(0))


def substitute_now(text: str, now: datetime | None = None) -> str:
    """Replace ``{now}`` / ``{now}±N[smhd]`` by an ISO-8601 UTC timestamp (an offset
    out of range, refused on save, leaves the tag as it is)."""
    moment = now or datetime.now(UTC)

    def replace(match: re.Match[str]) -> str:
        shifted = moment
        try:
            if match.group(1):
                delta = timedelta(seconds=int(match.group(2)) * _UNIT_SECONDS[match.group(3)])
                shifted = moment + delta if match.group(1) == "+" else moment - delta
        except OverflowError:
            return match.group(0)
        return shifted.isoformat(timespec="seconds")

    return NOW_TAG.sub(replace, text)


def parse_date(text: str) -> datetime:
    """ISO-8601 (at least ``YYYY-MM-DD``; ``+0100`` offsets and a blank separator
    allowed); naive values are UTC."""
    value = text.strip()
    if len(value) < 10:
        raise ComparisonError(f"{text!r} is not an ISO-8601 date")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M%z")
        except ValueError:
            raise ComparisonError(f"{text!r} is not an ISO-8601 date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
