"""The comparison mini-language (reference §3.3) including the quirks Factorflow fixes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from factorflow.core.compare import (
    Comparison,
    ComparisonError,
    compare,
    parse_comparison,
    parse_date,
    parse_duration,
    parse_integer_comparison,
)
from factorflow.core.dates import substitute_now

NOW = datetime(2025, 6, 15, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("locked < 5", Comparison("locked", "<", "5")),
        ("key == value", Comparison("key", "equals", "value")),
        ("key = value", Comparison("key", "equals", "value")),
        ("key != value", Comparison("key", "!equals", "value")),
        ("n <= 3", Comparison("n", "<=", "3")),
        ("n =< 3", Comparison("n", "<=", "3")),
        ("n >= 3", Comparison("n", ">=", "3")),
        ("n => 3", Comparison("n", ">=", "3")),
        ("group 'in' staff,admins", Comparison("group", "in", "staff,admins")),
        ("group '!in' staff", Comparison("group", "!in", "staff")),
        ("email 'matches' .*@example\\.org", Comparison("email", "matches", ".*@example\\.org")),
        ("email matches ^a.*$", Comparison("email", "matches", "^a.*$")),
        ("email !matches ^a", Comparison("email", "!matches", "^a")),
        ("d 'date_before' 2025-01-01", Comparison("d", "date_before", "2025-01-01")),
        ("d date_within_last 7d", Comparison("d", "date_within_last", "7d")),
        ("desc string_contains Shipped", Comparison("desc", "string_contains", "Shipped")),
        ("x '=='  a==b", Comparison("x", "equals", "a==b")),
        ("locked < {now}-7d", Comparison("locked", "<", "{now}-7d")),
        ("locked '<' {now} - 7d", Comparison("locked", "<", "{now} - 7d")),
    ],
)
def test_parse_generic(text: str, expected: Comparison) -> None:
    assert parse_comparison(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "no comparator here",
        "== value",
        "a == b == c",
        "re 'matches' ([",
        "d date_before yesterday",
        "d date_within_last 7 weeks",
        "n <= many",
    ],
)
def test_parse_generic_refuses(text: str) -> None:
    with pytest.raises(ComparisonError):
        parse_comparison(text)


@pytest.mark.parametrize(
    ("text", "comparator", "value"),
    [
        ("5", "equals", "5"),
        (">5", ">", "5"),
        ("<5", "<", "5"),
        ("'<'100", "<", "100"),
        ("'equals'7", "equals", "7"),
        ("'!equals'7", "!equals", "7"),
        ("==0", "equals", "0"),
        ("!=2", "!equals", "2"),
        ("<=3", "<=", "3"),
        (" >= 4 ", ">=", "4"),
    ],
)
def test_parse_integer(text: str, comparator: str, value: str) -> None:
    parsed = parse_integer_comparison(text)
    assert (parsed.key, parsed.comparator, parsed.value) == ("", comparator, value)


@pytest.mark.parametrize("text", ["", ">five", "a > 5", "5d", "'matches'5"])
def test_parse_integer_refuses(text: str) -> None:
    with pytest.raises(ComparisonError):
        parse_integer_comparison(text)


@pytest.mark.parametrize(
    ("left", "comparator", "right", "expected"),
    [
        ("5", "equals", "5", True),
        ("05", "equals", "5", True),  # both integers → compared as integers
        ("abc", "equals", "abc", True),
        ("abc", "!equals", "abc", False),
        ("10", "<", "9", False),  # integers, not strings ("10" < "9" as text)
        ("10", ">", "9", True),
        ("b", ">", "a", True),
        ("2025-01-01", "<", "2025-02-01", True),
        ("2025-01-01T10:00+0100", "equals", "2025-01-01T09:00:00+00:00", True),
        ("3", "<=", "3", True),
        ("", "<=", "0", True),  # empty left counts as 0 for <=/>=
        ("x", ">=", "1", False),
        ("a,b,c", "contains", "b", True),
        ("a,b,c", "!contains", "d", True),
        ("alice@example.org", "matches", ".*@example\\.org", True),
        ("alice@example.org.evil", "matches", ".*@example\\.org", False),  # full match
        ("ALICE", "matches", "(?i)alice", True),
        ("staff", "in", "admins, staff", True),
        ("staff", "!in", "admins, staff", False),
        ("a,b", "in", '"a,b",c', True),
        ("Token Shipped today", "string_contains", "shipped", True),
        ("Token Shipped today", "!string_contains", "shipped", False),
        ("2025-01-01", "date_before", "2025-01-02", True),
        ("2025-01-01", "date_after", "2025-01-02", False),
        ("2025-01-01T00:00", "date_before", "2025-01-01T00:00:00+00:00", False),  # naive = UTC
        ("not a date", "date_before", "2025-01-01", False),
    ],
)
def test_compare(left: str, comparator: str, right: str, expected: bool) -> None:
    assert compare(left, comparator, right) is expected


def test_compare_none_and_lists() -> None:
    assert compare(None, "equals", "x") is False
    assert compare(None, "!equals", "x") is True
    assert compare(["a", "b"], "contains", "a") is True
    assert compare(["a"], "equals", "a") is False


def test_date_within_last() -> None:
    recent = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    assert compare(recent, "date_within_last", "2h") is True
    assert compare(old, "date_within_last", "2d") is False
    assert compare(old, "!date_within_last", "2d") is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{now}", NOW),
        ("{now}+7d", NOW + timedelta(days=7)),
        ("{now}-7d", NOW - timedelta(days=7)),
        ("{now} - 7d", NOW - timedelta(days=7)),  # privacyIDEA ignores the spaced form
        ("{now} +  12h", NOW + timedelta(hours=12)),
        ("{now}-30m", NOW - timedelta(minutes=30)),
        ("{now}+10s", NOW + timedelta(seconds=10)),
        ("{current_time}-1d", NOW - timedelta(days=1)),
    ],
)
def test_now_offsets(text: str, expected: datetime) -> None:
    assert parse_date(substitute_now(text, NOW)) == expected


def test_now_does_not_eat_words_and_keeps_other_braces() -> None:
    assert substitute_now("{now} - 5 days", NOW).endswith(" - 5 days")
    assert substitute_now("{user.__class__} {0} {", NOW) == "{user.__class__} {0} {"


def test_now_in_a_comparison_is_evaluated_at_compare_time() -> None:
    comparison = parse_comparison("locked < {now}-7d")
    eight_days_ago = (NOW - timedelta(days=8)).isoformat()
    six_days_ago = (NOW - timedelta(days=6)).isoformat()
    assert comparison.evaluate(eight_days_ago, NOW) is True
    assert comparison.evaluate(six_days_ago, NOW) is False


def test_durations() -> None:
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration(" 1y ") == timedelta(days=365)
    assert parse_duration("90s") == timedelta(seconds=90)
    with pytest.raises(ComparisonError):
        parse_duration("7w")


def test_timestamp_formats_as_written_by_tokens() -> None:
    assert parse_date("2025-01-01 10:00:00.123456+0000").tzinfo is not None
    assert parse_date("2025-01-01T10:00+0100") == datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(ComparisonError):
        parse_date("2025")
