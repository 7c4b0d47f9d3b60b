"""Handler modules. Built-ins register through the ``factorflow.event_handlers``
entry-point group, exactly like third-party modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from factorflow.events.handlers.base import EventHandler
from factorflow.registry import Registry

if TYPE_CHECKING:
    from factorflow.settings import Settings

GROUP = "factorflow.event_handlers"


def load_handlers(settings: Settings | None = None) -> Registry[EventHandler]:
    """The registered handler modules; with ``settings``, each bound to them
    (:meth:`EventHandler.configured`)."""
    found = Registry.from_entry_points(GROUP, EventHandler)  # type: ignore[type-abstract]
    if settings is None:
        return found
    bound = {name: found[name].configured(settings) for name in found}
    return Registry(GROUP, EventHandler, bound)  # type: ignore[type-abstract]


__all__ = ["GROUP", "load_handlers"]
