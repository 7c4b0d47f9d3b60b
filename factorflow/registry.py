"""Frozen plug-in registries filled from entry points.

Built-in plug-ins register through the same entry-point groups as third-party
ones. A duplicate name is a start-up error naming both classes.

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

from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from factorflow.errors import ServerError

T = TypeVar("T")


class DuplicatePluginError(ServerError):
    pass


class Registry(Mapping[str, type[T]], Generic[T]):
    """The plug-in classes of ``group``, each a subclass of ``base``, by name."""

    def __init__(self, group: str, base: type[T], plugins: Mapping[str, type[T]]) -> None:
        self.group = group
        self.base = base
        self._plugins = dict(plugins)

    @classmethod
    def from_entry_points(cls, group: str, base: type[T]) -> Registry[T]:
        found: dict[str, type[T]] = {}
        for ep in entry_points(group=group):
            plugin = ep.load()
            if not (isinstance(plugin, type) and issubclass(plugin, base)):
                raise ServerError(f"Entry point {ep.name!r} in {group} is not a {base.__name__}")
            if ep.name in found and found[ep.name] is not plugin:
                raise DuplicatePluginError(
                    f"Plug-in name {ep.name!r} in {group} is claimed by "
                    f"{found[ep.name].__module__}.{found[ep.name].__qualname__} and "
                    f"{plugin.__module__}.{plugin.__qualname__}"
                )
            found[ep.name] = plugin
        return cls(group, base, found)

    def instances(self, make: Callable[[type[T]], T]) -> Instances[T]:
        """One instance per registered class, each made by ``make`` (called once per
        class, e.g. ``lambda cls: cls.create(settings)``)."""
        return Instances(self.group, {name: make(plugin) for name, plugin in self.items()})

    def __getitem__(self, name: str) -> type[T]:
        return self._plugins[name]

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
