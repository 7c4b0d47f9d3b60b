"""The per-process cache of active policies, compiled and indexed by scope.

Every policy change writes a new marker into the config row ``__policy_version__``
in the same transaction. The cache compares that marker with the one it loaded at
most every ``config_reload_seconds`` (every process sees a change within a second)
and recompiles everything when it differs; a change committed by this process
invalidates the cache at once. The check uses the caller's session (a second
connection per request would exhaust the pool). A session that itself changed
policies reads them from its own transaction and never fills the cache with
uncommitted policies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from factorflow.db import versions
from factorflow.errors import FactorflowError
from factorflow.policies.matching import CompiledPolicy
from factorflow.policies.models import Policy

log = logging.getLogger(__name__)

VERSION_KEY = "__policy_version__"
#: Set in ``session.info`` by a session that changed policies (not yet committed).
DIRTY = "factorflow.policies.dirty"


def read_version(session: Session) -> str:
    return versions.read_version(session, VERSION_KEY)


def bump_version(session: Session) -> None:
    """Write a fresh version marker in the caller's transaction."""
    versions.bump_version(session, VERSION_KEY)


@dataclass(frozen=True)
class Snapshot:
    version: str
    by_scope: dict[str, tuple[CompiledPolicy, ...]] = field(default_factory=dict)

    def scope(self, name: str) -> tuple[CompiledPolicy, ...]:
        return self.by_scope.get(name, ())


def load(session: Session, version: str) -> Snapshot:
    rows = session.scalars(select(Policy).where(Policy.active.is_(True)))
    index: dict[str, list[CompiledPolicy]] = {}
    for row in rows:
        try:
            compiled = CompiledPolicy.from_row(row)
        except FactorflowError as exc:  # validated on save; only hand-edited rows get here
            log.error("policy %r is skipped: %s", row.name, exc.message)
            continue
        index.setdefault(row.scope, []).append(compiled)
    return Snapshot(
        version,
        {s: tuple(sorted(v, key=lambda p: (p.priority, p.name))) for s, v in index.items()},
    )


class PolicyCache:
    def __init__(self, reload_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._reload_seconds = reload_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked_at = float("-inf")

    def invalidate(self) -> None:
        """Check the database version on the next lookup."""
        self._checked_at = float("-inf")

    def changed(self, session: Session) -> None:
        """``session`` changed policies: bump the version, read its own policies until it
        ends, and invalidate this process's cache when it commits."""
        bump_version(session)
        session.info[DIRTY] = True
        event.listen(session, "after_commit", lambda _s: self.invalidate(), once=True)

    def snapshot(self, session: Session) -> Snapshot:
        if session.info.get(DIRTY):
            return load(session, "uncommitted")
        current = self._snapshot
        if current is not None and self._clock() - self._checked_at < self._reload_seconds:
            return current
        with self._lock:
            current = self._snapshot
            if current is not None and self._clock() - self._checked_at < self._reload_seconds:
                return current
            version = read_version(session)
            if current is None or current.version != version:
                current = load(session, version)
                self._snapshot = current
            self._checked_at = self._clock()
            return current
