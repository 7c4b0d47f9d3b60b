"""The per-process cache of active definitions, indexed by (event, position).

A :class:`~factorflow.core.versioned_cache.VersionedCache` on the config row
``__version__`` (see there: every process sees a change within
``config_reload_seconds``, this process at once on commit, a rolled-back change never).
A session that changed definitions keeps running the cached ones. Definitions bound to
other events cost nothing: a request looks up one tuple by key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from factorflow.core.versioned_cache import VersionedCache
from factorflow.db import versions
from factorflow.events.conditions import CONDITIONS
from factorflow.events.conditions.base import ConditionRegistry
from factorflow.events.definition import Definition, from_row, unrunnable
from factorflow.events.errors import DefinitionError
from factorflow.events.handlers.base import EventHandler
from factorflow.events.models import EventDefinition

log = logging.getLogger(__name__)

VERSION_KEY = "__version__"
#: Set in ``session.info`` by a session that changed definitions (not yet committed).
DIRTY = "factorflow.events.dirty"


def read_version(session: Session) -> str:
    return versions.read_version(session, VERSION_KEY)


def bump_version(session: Session) -> str:
    """Write a fresh version marker in the caller's transaction."""
    return versions.bump_version(session, VERSION_KEY)


@dataclass(frozen=True)
class Snapshot:
    version: str
    index: dict[tuple[str, str], tuple[Definition, ...]] = field(default_factory=dict)
    #: Active definitions that failed to compile (e.g. a module was uninstalled).
    broken: dict[int, str] = field(default_factory=dict)


class DefinitionCache:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        handlers: Mapping[str, EventHandler],
        reload_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        opener: Callable[[EventDefinition], Mapping[str, Any]] | None = None,
        conditions: ConditionRegistry = CONDITIONS,
    ) -> None:
        self._handlers = handlers
        self._conditions = conditions
        #: The row's options with its secrets opened (None: the stored options).
        self._opener = opener
        self._cache: VersionedCache[Snapshot] = VersionedCache(
            load=self._load,
            read_version=read_version,
            bump=bump_version,
            dirty_key=DIRTY,
            reload_seconds=reload_seconds,
            own_changes="cached",
            open_session=sessions,
            clock=clock,
        )

    def invalidate(self) -> None:
        """Check the database version on the next lookup."""
        self._cache.invalidate()

    def changed(self, session: Session) -> None:
        """``session`` changed definitions (see :meth:`VersionedCache.changed`)."""
        self._cache.changed(session)

    def for_event(self, session: Session, event: str, position: str) -> tuple[Definition, ...]:
        return self.snapshot(session).index.get((event, position), ())

    def snapshot(self, session: Session | None = None) -> Snapshot:
        """The current definitions; ``session`` is the caller's (None: a short own one)."""
        return self._cache.get(session)

    def _load(self, session: Session, version: str) -> Snapshot:
        rows = session.scalars(
            select(EventDefinition)
            .where(EventDefinition.active.is_(True))
            .order_by(EventDefinition.ordering, EventDefinition.id)
        )
        index: dict[tuple[str, str], list[Definition]] = {}
        broken: dict[int, str] = {}
        for row in rows:
            try:
                options = self._opener(row) if self._opener is not None else None
                definition = from_row(
                    row, self._handlers, options=options, conditions=self._conditions
                )
            except DefinitionError as exc:
                # It still runs, as a stand-in that fails: audited, and an abort_on_error
                # guard whose script or module is gone fails closed, not open.
                log.error("event definition %s (%r) cannot run: %s", row.id, row.name, exc.message)
                broken[row.id] = exc.message
                definition = unrunnable(row, exc.message, self._conditions)
            for event in definition.events:
                index.setdefault((event, definition.position), []).append(definition)
        frozen = {key: tuple(sorted(v, key=lambda d: d.sort_key)) for key, v in index.items()}
        return Snapshot(version, frozen, broken)
