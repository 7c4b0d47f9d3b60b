"""Handler modules. Built-ins register through the ``factorflow.event_handlers``
entry-point group, exactly like third-party modules. The composition root makes one
instance of each registered class (:meth:`EventHandler.create`) and the server uses
those instances only."""

from __future__ import annotations

from factorflow.events.handlers.base import EventHandler
from factorflow.registry import Registry

GROUP = "factorflow.event_handlers"


def handler_classes() -> Registry[EventHandler]:
    """The handler-module classes registered under :data:`GROUP`."""
    return Registry.from_entry_points(GROUP, EventHandler)  # type: ignore[type-abstract]


__all__ = ["GROUP", "handler_classes"]
