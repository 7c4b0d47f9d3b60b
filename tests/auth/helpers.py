"""Shared by the login throttle tests: compact rules (the clock: tests.clocks)."""

from __future__ import annotations

from datetime import timedelta

from factorflow.auth.throttle import Limits, ThrottleRules


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
