"""Clocks a test moves by hand (no sleeping), for code that takes its clock as a
callable: ``time.monotonic``-like seconds, or aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SecondsClock:
    """Seconds as a float, starting at ``start``."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class DatetimeClock:
    """An aware datetime, starting now (or at ``start``)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
