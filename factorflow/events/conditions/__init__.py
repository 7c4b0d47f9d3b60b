"""The registry of all conditions (privacyIDEA 3.14's, without the container ones).

Conditions are plug-ins like handlers and token types: each entry point of the group
``factorflow.event_conditions`` names a :class:`Condition` or a sequence of them (a
module's ``CONDITIONS``), and the built-ins register the same way. A name claimed twice
is a start-up error naming both entry points.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

from factorflow.errors import ServerError
from factorflow.events.conditions.base import Condition, ConditionRegistry
from factorflow.registry import DuplicatePluginError

GROUP = "factorflow.event_conditions"
#: The built-in entry points, listed first and in this order (the UI's order).
_BUILT_IN = ("general", "user", "token", "challenge")


def _conditions(name: str, loaded: object) -> Iterable[Condition[Any]]:
    items = (loaded,) if isinstance(loaded, Condition) else loaded
    if not isinstance(items, (tuple, list)) or not all(isinstance(c, Condition) for c in items):
        raise ServerError(f"Entry point {name!r} in {GROUP} names no Condition or sequence of them")
    return items


def build_registry() -> ConditionRegistry:
    """Every registered condition, from the entry points of :data:`GROUP`."""
    registry = ConditionRegistry()
    origin: dict[str, str] = {}

    def order(name: str) -> tuple[int, str]:
        return (_BUILT_IN.index(name) if name in _BUILT_IN else len(_BUILT_IN), name)

    for ep in sorted(entry_points(group=GROUP), key=lambda ep: order(ep.name)):
        for condition in _conditions(ep.name, ep.load()):
            if condition.name in origin:
                raise DuplicatePluginError(
                    f"Condition {condition.name!r} in {GROUP} is claimed by the entry points "
                    f"{origin[condition.name]!r} and {ep.name!r}"
                )
            origin[condition.name] = ep.name
            registry.add(condition)
    return registry


CONDITIONS = build_registry()

__all__ = ["CONDITIONS", "GROUP", "build_registry"]
