"""Frozen plug-in registries filled from entry points.

Built-in plug-ins register through the same entry-point groups as third-party
ones. A duplicate name is a start-up error naming both classes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from factorflow.errors import ServerError

T = TypeVar("T")


class DuplicatePluginError(ServerError):
    pass


class Registry(Mapping[str, type[T]], Generic[T]):
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

    def __getitem__(self, name: str) -> type[T]:
        return self._plugins[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._plugins))

    def __len__(self) -> int:
        return len(self._plugins)
