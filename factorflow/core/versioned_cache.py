"""A per-process snapshot of configuration, reloaded when a version marker changes.

Event definitions and policies are read on every request and change rarely. Each
change writes a fresh marker into a config row in the same transaction; a
:class:`VersionedCache` compares that marker with the one it loaded at most every
``reload_seconds`` (so every process sees a change within that time) and reloads
everything when it differs. A change committed by this process invalidates the cache
at once (:meth:`VersionedCache.changed`); a rolled-back one never reaches it.

* The check and the reload use the caller's session (the request's own connection): a
  second connection per request would exhaust the pool under load.
* A session that changed the configuration itself (not yet committed) never fills the
  cache: it either reads its own uncommitted state (``own_changes="read"``, policies:
  an import decides with what it imported) or keeps reading the cached snapshot
  (``own_changes="cached"``, definitions: a request that edits definitions runs the old
  ones to its end).
* The reload lock is never waited for while the caller holds a database connection:
  the holder may itself be waiting for a pool connection held by a waiter, a deadlock
  that only the pool timeout would end. While another thread reloads because the
  period ran out, the snapshot at hand (at most one reload period old) is good enough.
  After this process committed a change, it is not: a request that starts after the
  commit must see it (a policy just tightened, a type just withdrawn), so a caller that
  finds the reload lock taken then reloads for itself instead of serving the old one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, Literal, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")

OwnChanges = Literal["read", "cached"]


class VersionedCache(Generic[T]):
    """``load(session, version)`` builds the snapshot; ``read_version(session)`` reads
    the marker; ``bump(session)`` writes a fresh one; ``dirty_key`` marks a session
    that changed the configuration; ``open_session`` opens a short session of its own
    for callers that have none."""

    def __init__(
        self,
        *,
        load: Callable[[Session, str], T],
        read_version: Callable[[Session], str],
        bump: Callable[[Session], object],
        dirty_key: str,
        reload_seconds: float,
        own_changes: OwnChanges,
        open_session: Callable[[], Session] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._read_version = read_version
        self._bump = bump
        self.dirty_key = dirty_key
        self._reload_seconds = reload_seconds
        self._own_changes = own_changes
        self._open_session = open_session
        self._clock = clock
        self._lock = threading.Lock()
        self._current: tuple[str, T] | None = None
        self._checked_at = float("-inf")
        # Bumped by every invalidation; the snapshot is known stale while the
        # generation it was checked at is older (a reload that started before an
        # invalidation does not count as seeing it).
        self._generation = 0
        self._checked_generation = 0

    def invalidate(self) -> None:
        """Check the database's marker on the next lookup, and let no lookup serve
        the snapshot at hand until a check has seen the marker again."""
        self._generation += 1
        self._checked_at = float("-inf")

    def changed(self, session: Session) -> None:
        """``session`` changed the configuration: write a fresh marker in its
        transaction, mark it, and invalidate this process's cache once it commits."""
        self._bump(session)
        session.info[self.dirty_key] = True
        event.listen(session, "after_commit", lambda _s: self.invalidate(), once=True)

    def is_dirty(self, session: Session | None) -> bool:
        return session is not None and bool(session.info.get(self.dirty_key))

    def get(self, session: Session | None = None) -> T:
        """The snapshot; ``session`` is the caller's (None: a short one of its own)."""
        if self.is_dirty(session):
            assert session is not None
            if self._own_changes == "read":
                return self._load(session, "uncommitted")
            if self._current is not None:
                return self._current[1]
            session = None  # never fill the cache from uncommitted changes
        current = self._current
        if current is not None and self._fresh():
            return current[1]
        if not self._lock.acquire(blocking=False):
            if current is not None and self._checked_generation == self._generation:
                return current[1]  # only the period ran out: the one at hand will do
            # The first load, or a change this process committed: do it ourselves.
            return self._reload(session, current)
        try:
            current = self._current
            if current is not None and self._fresh():
                return current[1]
            generation = self._generation
            value = self._reload(session, current)
            self._checked_at = self._clock()
            self._checked_generation = generation
            return value
        finally:
            self._lock.release()

    def _fresh(self) -> bool:
        return (
            self._checked_generation == self._generation
            and self._clock() - self._checked_at < self._reload_seconds
        )

    def _reload(self, session: Session | None, current: tuple[str, T] | None) -> T:
        if session is not None:
            return self._reload_in(session, current)
        if self._open_session is None:
            raise RuntimeError("this cache needs the caller's session")
        with self._open_session() as own:
            return self._reload_in(own, current)

    def _reload_in(self, session: Session, current: tuple[str, T] | None) -> T:
        version = self._read_version(session)
        if current is None or current[0] != version:
            current = (version, self._load(session, version))
            self._current = current
        return current[1]


__all__ = ["OwnChanges", "VersionedCache"]
