"""The per-process cache of active definitions, indexed by (event, position).

Every definition change writes a new value into the config row ``__version__``.
The cache compares that value with the one it loaded at most every
``config_reload_seconds`` (so every process sees a change within a second) and
reloads everything when it differs. A change committed by this process
invalidates the cache at once. The check and the reload use the caller's session
(the request's own connection): a second connection per request would exhaust
the pool under load. A session that itself changed definitions is not used to
reload, so uncommitted definitions never reach the cache. Definitions bound to
other events cost nothing: a request looks up one tuple by key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from factorflow.db import versions
from factorflow.events.conditions import CONDITIONS
from factorflow.events.conditions.base import ConditionRegistry
from factorflow.events.definition import Definition, from_row
from factorflow.events.errors import DefinitionError
from factorflow.events.handlers.base import EventHandler
from factorflow.events.models import EventDefinition
from factorflow.registry import Registry

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
        handlers: Registry[EventHandler],
        reload_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        opener: Callable[[EventDefinition], Mapping[str, Any]] | None = None,
        conditions: ConditionRegistry = CONDITIONS,
    ) -> None:
        self._sessions = sessions
        self._handlers = handlers
        self._conditions = conditions
        #: The row's options with its secrets opened (None: the stored options).
        self._opener = opener
        self._reload_seconds = reload_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked_at = float("-inf")

    def invalidate(self) -> None:
        """Check the database version on the next lookup."""
        self._checked_at = float("-inf")

    def for_event(self, session: Session, event: str, position: str) -> tuple[Definition, ...]:
        return self.snapshot(session).index.get((event, position), ())

    def snapshot(self, session: Session | None = None) -> Snapshot:
        """The current definitions; ``session`` is the caller's (None: a short own one)."""
        current = self._snapshot
        if current is not None and (
            self._clock() - self._checked_at < self._reload_seconds
            or (session is not None and session.info.get(DIRTY))
        ):
            return current
        # Never wait for the lock while holding a database connection: the holder may
        # itself be waiting for a pool connection held by a waiter, a deadlock that only
        # the pool timeout would end. If another thread is refreshing, the snapshot we
        # have (at most one reload period old) is good enough.
        if not self._lock.acquire(blocking=False):
            if current is not None:
                return current
            return self._refresh_with(session, current)  # first load: load it ourselves
        try:
            current = self._snapshot
            if current is not None and self._clock() - self._checked_at < self._reload_seconds:
                return current
            current = self._refresh_with(session, current)
            self._checked_at = self._clock()
            return current
        finally:
            self._lock.release()

    def _refresh_with(self, session: Session | None, current: Snapshot | None) -> Snapshot:
        if session is None:
            with self._sessions() as own:
                return self._refresh(own, current)
        return self._refresh(session, current)

    def _refresh(self, session: Session, current: Snapshot | None) -> Snapshot:
        version = read_version(session)
        if current is None or current.version != version:
            current = self._load(session, version)
            self._snapshot = current
        return current

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
                log.error("event definition %s (%r) is skipped: %s", row.id, row.name, exc.message)
                broken[row.id] = exc.message
                continue
            for event in definition.events:
                index.setdefault((event, definition.position), []).append(definition)
        frozen = {key: tuple(sorted(v, key=lambda d: d.sort_key)) for key, v in index.items()}
        return Snapshot(version, frozen, broken)
