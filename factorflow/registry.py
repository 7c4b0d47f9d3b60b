"""Frozen plug-in registries filled from entry points.

Built-in plug-ins register through the same entry-point groups as third-party
ones. A duplicate name is a start-up error naming both. A registry imports a
plug-in's module when the plug-in is first asked for, not at start-up: a worker
whose realms have no LDAP resolver never imports ``ldap3`` (memory per worker is a
target, ``docs/performance.md``); a module that is not a plug-in of the group's kind
is an error on that first use.

Two shapes, both read-only mappings from the plug-in's name:

* :class:`Registry` holds the *classes* found under an entry-point group. It is the
  server's registry for the kinds whose objects are made per stored row (a token type
  per token, a user store per resolver) or per worker (a job kind's deliverer).
* :class:`Instances` holds one configured *instance* per name, made once by the
  composition root from a registry's classes (:meth:`Registry.instances`), for the
  kinds whose objects the server shares (the event handler modules). What an
  instance depends on (a directory from the settings) is given to it when it is made
  and lives on it; there are no per-configuration subclasses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from factorflow.errors import ServerError

T = TypeVar("T")


class DuplicatePluginError(ServerError):
    pass


class Registry(Mapping[str, type[T]], Generic[T]):
    """The plug-in classes of ``group``, each a subclass of ``base``, by name; given as
    classes or as entry points, which are loaded on first use."""

    def __init__(
        self, group: str, base: type[T], plugins: Mapping[str, type[T] | EntryPoint]
    ) -> None:
        self.group = group
        self.base = base
        self._plugins = dict(plugins)
        self._loading = threading.Lock()

    @classmethod
    def from_entry_points(cls, group: str, base: type[T]) -> Registry[T]:
        found: dict[str, EntryPoint] = {}
        for ep in entry_points(group=group):
            # The same object registered twice (an editable install beside a built one)
            # is one plug-in; two objects under one name are a conflict.
            if ep.name in found and found[ep.name].value != ep.value:
                raise DuplicatePluginError(
                    f"Plug-in name {ep.name!r} in {group} is claimed by "
                    f"{found[ep.name].value} and {ep.value}"
                )
            found[ep.name] = ep
        return cls(group, base, found)

    def instances(self, make: Callable[[type[T]], T]) -> Instances[T]:
        """One instance per registered class, each made by ``make`` (called once per
        class, e.g. ``lambda cls: cls.create(settings)``)."""
        return Instances(self.group, {name: make(plugin) for name, plugin in self.items()})

    def __getitem__(self, name: str) -> type[T]:
        plugin = self._plugins[name]
        if isinstance(plugin, EntryPoint):
            with self._loading:
                plugin = self._plugins[name]
                if isinstance(plugin, EntryPoint):
                    plugin = self._plugins[name] = self._load(plugin)
        return plugin

    def _load(self, ep: EntryPoint) -> type[T]:
        plugin = ep.load()
        if not (isinstance(plugin, type) and issubclass(plugin, self.base)):
            raise ServerError(
                f"Entry point {ep.name!r} in {self.group} is not a {self.base.__name__}"
            )
        return plugin

    def __contains__(self, name: object) -> bool:
        return name in self._plugins  # a name is known without importing its module

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._plugins))

    def __len__(self) -> int:
        return len(self._plugins)


class Instances(Mapping[str, T], Generic[T]):
    """One configured plug-in instance per name (of the entry-point ``group`` it came
    from), iterated in name order like :class:`Registry`."""

    def __init__(self, group: str, plugins: Mapping[str, T]) -> None:
        self.group = group
        self._plugins = dict(plugins)

    def __getitem__(self, name: str) -> T:
        return self._plugins[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._plugins))

    def __len__(self) -> int:
        return len(self._plugins)


__all__ = ["DuplicatePluginError", "Instances", "Registry"]
