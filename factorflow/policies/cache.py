"""The per-process cache of active policies, compiled and indexed by scope.

A :class:`~factorflow.core.versioned_cache.VersionedCache` on the config row
``__policy_version__`` (see there: every process sees a change within
``config_reload_seconds``, this process at once on commit, a rolled-back change never).
A session that changed policies decides with its own uncommitted policies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.core.versioned_cache import VersionedCache
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
        self._cache: VersionedCache[Snapshot] = VersionedCache(
            load=load,
            read_version=read_version,
            bump=bump_version,
            dirty_key=DIRTY,
            reload_seconds=reload_seconds,
            own_changes="read",
            clock=clock,
        )

    def invalidate(self) -> None:
        """Check the database version on the next lookup."""
        self._cache.invalidate()

    def changed(self, session: Session) -> None:
        """``session`` changed policies: bump the version, read its own policies until it
        ends, and invalidate this process's cache when it commits."""
        self._cache.changed(session)

    def snapshot(self, session: Session) -> Snapshot:
        return self._cache.get(session)
