"""Dates and durations, in one place: every text that names a moment or a span of time
(condition values, tags, the Token handler's ``set validity``, tokeninfo validity
bounds, the audit's ``timelimit``) is read here.

* **durations** ``<int><s|m|h|d|y>`` (y = 365 days), at most :data:`MAX_OFFSET`;
* **``{now}`` tags** with an optional ``±N[smhd]`` offset, blanks allowed;
* **ISO 8601** (at least ``YYYY-MM-DD``; ``+0100`` offsets and a blank separator);
* **privacyIDEA's stored formats**: validity bounds ``YYYY-MM-DDThh:mm±hhmm`` (legacy
  ``DD/MM/YY hh:mm``) and timestamps ``YYYY-MM-DD hh:mm:ss.ffffff±hhmm``;
* **the Token handler's fixed-time forms** (see :func:`parse_moment`).

A naive value is UTC everywhere. Errors are :class:`DateError` (a ``ValueError``)
whose message says what was expected; callers turn it into their own error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

#: The largest date offset or duration: 100 years.
MAX_OFFSET = timedelta(days=36_525)
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}
#: ``{now}`` (or ``{current_time}``) with an optional offset, blanks allowed.
NOW_TAG = re.compile(r"\{(?:now|current_time)\}(?:\s*([+-])\s*(\d{1,9})\s*([smhd])(?![A-Za-z]))?")
DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhdy])\s*$")
#: privacyIDEA's format for validity periods: ``2025-01-31T23:59+0100``.
VALIDITY_FORMAT = "%Y-%m-%dT%H:%M%z"
_LEGACY_VALIDITY_FORMAT = "%d/%m/%y %H:%M"
#: privacyIDEA's format for ``last_auth`` and other timestamps.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f%z"

_FORWARD = re.compile(r"^\+\s*(\d{1,9})\s*([mhd])$")
_FIXED = re.compile(
    r"^(?:(?P<y1>\d{4})/(?P<m1>\d{1,2})/(?P<d1>\d{1,2})"
    r"|(?P<d2>\d{1,2})[./](?P<m2>\d{1,2})[./](?P<y2>\d{4}))"
    r"(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:\s*:?\s*(?P<half>[ap])\.?m\.?)?)?$",
    re.IGNORECASE,
)


class DateError(ValueError):
    """A text that names no moment or duration; the message says why."""


def bounded(amount: str | int, unit: str, text: str) -> timedelta:
    """``amount`` ``unit``\\ s as a timedelta of at most :data:`MAX_OFFSET`; beyond it a
    DateError naming ``text`` (such a date would fail every comparison)."""
    seconds = int(amount) * UNIT_SECONDS[unit]
    if seconds > MAX_OFFSET.total_seconds():
        raise DateError(f"{text.strip()[:40]!r} is more than 100 years")
    return timedelta(seconds=seconds)


def parse_duration(text: str, units: str = "smhdy") -> timedelta:
    """``<int><unit>`` with a unit among ``units`` → timedelta; DateError otherwise."""
    match = DURATION.match(text)
    if not match or match.group(2) not in units:
        raise DateError(f"{text!r} is not a duration like 12h, 7d or 1y")
    return bounded(match.group(1), match.group(2), text)


def check_now_offsets(text: str) -> None:
    """Refuse a ``{now}±N`` offset in ``text`` beyond 100 years (DateError)."""
    for match in NOW_TAG.finditer(text):
        if match.group(1):
            bounded(match.group(2), match.group(3), match.group(0))


def substitute_now(text: str, now: datetime | None = None) -> str:
    """Replace ``{now}`` / ``{now}±N[smhd]`` by an ISO-8601 UTC timestamp (an offset
    out of range, refused on save, leaves the tag as it is)."""
    moment = now or datetime.now(UTC)

    def replace(match: re.Match[str]) -> str:
        shifted = moment
        try:
            if match.group(1):
                delta = timedelta(seconds=int(match.group(2)) * UNIT_SECONDS[match.group(3)])
                shifted = moment + delta if match.group(1) == "+" else moment - delta
        except OverflowError:
            return match.group(0)
        return shifted.isoformat(timespec="seconds")

    return NOW_TAG.sub(replace, text)


def parse_iso(text: str) -> datetime:
    """ISO-8601 (at least ``YYYY-MM-DD``; ``+0100`` offsets and a blank separator
    allowed); naive values are UTC."""
    value = text.strip()
    if len(value) < 10:
        raise DateError(f"{text!r} is not an ISO-8601 date")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.strptime(value, VALIDITY_FORMAT)
        except ValueError:
            raise DateError(f"{text!r} is not an ISO-8601 date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def timestamp(now: datetime | None = None) -> str:
    """``now`` in privacyIDEA's timestamp format."""
    return (now or datetime.now(UTC)).strftime(TIMESTAMP_FORMAT)


def parse_stored_validity(value: str) -> datetime:
    """A stored validity-period bound (``YYYY-MM-DDThh:mm±hhmm``; legacy ``DD/MM/YY
    hh:mm`` is read as UTC)."""
    for fmt in (VALIDITY_FORMAT, _LEGACY_VALIDITY_FORMAT):
        try:
            parsed = datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise DateError(f"Invalid validity period {value!r}: expected YYYY-MM-DDThh:mm+hhmm")


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """The moment the Token handler's ``set validity`` text names, in every form
    privacyIDEA's Token handler documentation lists, and ISO 8601:

    * an offset from now: ``+30m``, ``+24h``, ``+30d`` (at most 100 years);
    * a date: ``2016/12/23``, ``23.12.2016`` (and ``23/12/2016``: a text that starts
      with two digits and ``.`` or ``/`` is day first, as in privacyIDEA);
    * a date and time, 24-hour or 12-hour clock: ``23.12.2016 9:30``, ``23.12.2016
      23:20``, ``2016/12/23 9:30am``, ``2016/12/23 11:20:pm`` (the documentation's own
      spelling), ``2016/12/23 11:20 PM``, with optional seconds;
    * ISO 8601: ``2016-12-23``, ``2016-12-23T15:30+0600``, ``2016-12-23T15:30:00+06:00``.

    A date without a time zone is UTC (privacyIDEA reads it in the server's local time).
    """
    value = text.strip()
    forward = _FORWARD.match(value)
    if forward:
        try:
            delta = bounded(forward.group(1), forward.group(2), text)
        except DateError:
            raise DateError(f"{text.strip()[:40]!r} is more than 100 years from now") from None
        return (now or datetime.now(UTC)) + delta
    match = _FIXED.match(value)
    if match:
        return _from_parts(match, text)
    try:
        return parse_iso(value)
    except DateError:
        raise DateError(
            f"{text!r} is not a date (2016/12/23, 23.12.2016 9:30, 2016/12/23 9:30am, "
            "2016-12-23T15:30+0600) or an offset like +30m, +24h, +30d"
        ) from None


def _from_parts(match: re.Match[str], text: str) -> datetime:
    parts = match.groupdict()
    year = int(parts["y1"] or parts["y2"])
    month = int(parts["m1"] or parts["m2"])
    day = int(parts["d1"] or parts["d2"])
    hour = int(parts["hour"] or 0)
    minute = int(parts["minute"] or 0)
    second = int(parts["second"] or 0)
    half = (parts["half"] or "").lower()
    if half:
        if not 1 <= hour <= 12:
            raise DateError(f"{text!r}: a 12-hour clock runs from 1 to 12")
        hour = hour % 12 + (12 if half == "p" else 0)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise DateError(f"{text!r} is not a valid date") from None
