"""Schedule expressions of scheduled definitions, and when they fire next.

Two forms, both in UTC:

* ``every <n><unit>`` with unit ``m`` (minutes), ``h`` (hours), ``d`` (days) or ``w``
  (weeks), e.g. ``every 15m``. The slots are multiples of the interval since the Unix
  epoch, so every node computes the same slots: ``every 1h`` fires on the hour,
  ``every 1d`` at midnight UTC, ``every 15m`` at :00, :15, :30 and :45.
* a classic 5-field cron expression (minute hour day-of-month month day-of-week),
  e.g. ``0 3 * * 1-5``, evaluated by croniter.

:func:`parse_schedule` raises ValueError with a message fit for an admin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

#: The pseudo-event scheduled definitions are bound to; no request carries it.
SCHEDULED_EVENT = "scheduled"
#: What a scheduled run iterates over.
SWEEPS = ("tokens", "users")

MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(days=366)
_EVERY = re.compile(r"every\s+(\d{1,6})\s*([mhdw])", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule; ``text`` is the normalised expression as stored."""

    text: str
    interval: timedelta | None = None
    cron: str | None = None

    def next_after(self, moment: datetime) -> datetime:
        """The first slot strictly after ``moment`` (an aware datetime), in UTC."""
        moment = moment.astimezone(UTC)
        if self.interval is not None:
            step = int(self.interval.total_seconds())
            elapsed = int((moment - _EPOCH).total_seconds())
            return _EPOCH + timedelta(seconds=(elapsed // step + 1) * step)
        assert self.cron is not None
        found = croniter(self.cron, moment).get_next(datetime)
        return found.astimezone(UTC)


def parse_schedule(text: str) -> Schedule:
    """``every 15m`` / ``every 1h`` / ``every 1d`` / ``every 2w`` or a 5-field cron
    expression; raises ValueError saying what is wrong."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise ValueError("empty")
    if cleaned.lower().startswith("every"):
        return _parse_every(cleaned)
    fields = cleaned.split(" ")
    if len(fields) != 5:
        raise ValueError(
            f"{cleaned[:100]!r} is neither 'every <n>m|h|d|w' nor a cron expression of "
            f"5 fields (minute hour day month weekday); it has {len(fields)}"
        )
    try:
        iterator = croniter(cleaned, _EPOCH)
        # A valid expression may still never fire (30 February): find one slot.
        iterator.get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f"the cron expression {cleaned!r} never fires") from None
    except (CroniterBadCronError, CroniterError, ValueError, KeyError) as exc:
        raise ValueError(f"invalid cron expression {cleaned!r}: {exc}") from None
    return Schedule(cleaned, cron=cleaned)


def _parse_every(text: str) -> Schedule:
    match = _EVERY.fullmatch(text)
    if match is None:
        raise ValueError(f"{text[:100]!r} is not 'every <n><unit>' with unit m, h, d or w")
    count, unit = int(match.group(1)), match.group(2).lower()
    interval = timedelta(**{_UNITS[unit]: count})
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise ValueError("the interval must be between 1 minute and 366 days")
    return Schedule(f"every {count}{unit}", interval=interval)


__all__ = ["SCHEDULED_EVENT", "SWEEPS", "Schedule", "parse_schedule"]
