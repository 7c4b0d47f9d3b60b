"""The Token handler's ``set validity`` dates: every form privacyIDEA's Token handler
documentation lists, and ISO 8601.

* an offset from now: ``+30m``, ``+24h``, ``+30d`` (at most 100 years);
* a date: ``2016/12/23``, ``23.12.2016`` (and ``23/12/2016``: a text that starts with
  two digits and ``.`` or ``/`` is day first, as in privacyIDEA);
* a date and time, 24-hour or 12-hour clock: ``23.12.2016 9:30``, ``23.12.2016 23:20``,
  ``2016/12/23 9:30am``, ``2016/12/23 11:20:pm`` (the documentation's own spelling, a
  colon before ``pm``), ``2016/12/23 11:20 PM``, with optional seconds;
* ISO 8601: ``2016-12-23``, ``2016-12-23T15:30+0600``, ``2016-12-23T15:30:00+06:00``.

A date without a time zone is UTC (privacyIDEA reads it in the server's local time).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from factorflow.events.compare import ComparisonError, parse_date
from factorflow.events.limits import MAX_OFFSET

_OFFSET = re.compile(r"^\+\s*(\d{1,9})\s*([mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
_DATE = re.compile(
    r"^(?:(?P<y1>\d{4})/(?P<m1>\d{1,2})/(?P<d1>\d{1,2})"
    r"|(?P<d2>\d{1,2})[./](?P<m2>\d{1,2})[./](?P<y2>\d{4}))"
    r"(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:\s*:?\s*(?P<half>[ap])\.?m\.?)?)?$",
    re.IGNORECASE,
)


def parse_validity_option(text: str, now: datetime | None = None) -> datetime:
    """The moment ``text`` names (see the module doc); ValueError if it names none."""
    value = text.strip()
    offset = _OFFSET.match(value)
    if offset:
        seconds = int(offset.group(1)) * _UNIT_SECONDS[offset.group(2)]
        if seconds > MAX_OFFSET.total_seconds():
            raise ValueError(f"{text.strip()[:40]!r} is more than 100 years from now")
        return (now or datetime.now(UTC)) + timedelta(seconds=seconds)
    match = _DATE.match(value)
    if match:
        return _from_parts(match, text)
    return _iso(value, text)


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
            raise ValueError(f"{text!r}: a 12-hour clock runs from 1 to 12")
        hour = hour % 12 + (12 if half == "p" else 0)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date") from None


def _iso(value: str, text: str) -> datetime:
    try:
        return parse_date(value)
    except ComparisonError:
        raise ValueError(
            f"{text!r} is not a date (2016/12/23, 23.12.2016 9:30, 2016/12/23 9:30am, "
            "2016-12-23T15:30+0600) or an offset like +30m, +24h, +30d"
        ) from None


__all__ = ["parse_validity_option"]
