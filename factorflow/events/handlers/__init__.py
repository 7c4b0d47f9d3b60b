"""Handler modules. Built-ins register through the ``factorflow.event_handlers``
entry-point group, exactly like third-party modules."""

from __future__ import annotations

from factorflow.events.handlers.base import EventHandler
from factorflow.registry import Registry

GROUP = "factorflow.event_handlers"


def load_handlers() -> Registry[EventHandler]:
    return Registry.from_entry_points(GROUP, EventHandler)  # type: ignore[type-abstract]


__all__ = ["GROUP", "load_handlers"]
