"""Shared by the login throttle tests: an injectable clock and compact rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from factorflow.auth.throttle import Limits, ThrottleRules


class Clock:
    """A clock the test moves by hand (no sleeping)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def rules(
    account: tuple[int, int] = (3, 5),
    client: tuple[int, int] = (0, 0),
    *,
    backoff: tuple[float, float] = (1, 8),
    lockout: float = 60,
    window: float = 600,
) -> ThrottleRules:
    """Rules in seconds: ``account``/``client`` are (backoff after, lockout after)."""
    return ThrottleRules(
        account=Limits(*account),
        client=Limits(*client),
        backoff_base=timedelta(seconds=backoff[0]),
        backoff_max=timedelta(seconds=backoff[1]),
        lockout=timedelta(seconds=lockout),
        window=timedelta(seconds=window),
    )
