"""The registry of all conditions (privacyIDEA 3.14's, without the container ones)."""

from __future__ import annotations

from factorflow.events.conditions import challenge, general, token, user
from factorflow.events.conditions.base import ConditionRegistry


def build_registry() -> ConditionRegistry:
    registry = ConditionRegistry()
    for module in (general, user, token, challenge):
        for condition in module.CONDITIONS:
            registry.add(condition)
    return registry


CONDITIONS = build_registry()

__all__ = ["CONDITIONS", "build_registry"]
