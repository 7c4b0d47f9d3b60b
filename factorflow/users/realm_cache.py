"""The per-process snapshot of realms and resolvers that user lookups read.

Nearly every request resolves a user: the realm, its resolvers in priority order, the
stores' configurations and whether the realm's users have custom attributes. Those
change rarely, so they are read once into a frozen :class:`Snapshot` held by a
:class:`~factorflow.core.versioned_cache.VersionedCache` on the config row
``__realm_version__`` (every process sees a change within ``config_reload_seconds``,
this process at once on commit, a rolled-back change never). A unit of work that
changed realms or resolvers reads its own uncommitted configuration until it ends.

The snapshot holds no ORM objects: it outlives the session that loaded it and is
shared by every thread of the process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from factorflow.core.versioned_cache import VersionedCache
from factorflow.db import versions
from factorflow.users.models import CustomUserAttribute, Realm, ResolverConfig

VERSION_KEY = "__realm_version__"
#: Set in ``session.info`` by a unit of work that changed realms or resolvers.
DIRTY = "factorflow.users.realms.dirty"


@dataclass(frozen=True)
class StoredResolver:
    """A resolver's stored configuration (the JSON of ``resolver.config``, secrets
    sealed): what a store instance is built and cached from."""

    name: str
    type: str
    config: str


@dataclass(frozen=True)
class Member:
    resolver: StoredResolver
    priority: int | None


@dataclass(frozen=True)
class RealmView:
    name: str
    is_default: bool
    #: By ascending priority; no priority last; ties by resolver name.
    members: tuple[Member, ...]


@dataclass(frozen=True)
class Snapshot:
    version: str
    realms: Mapping[str, RealmView] = field(default_factory=dict)
    resolvers: Mapping[str, StoredResolver] = field(default_factory=dict)
    default: RealmView | None = None
    #: Realms with at least one custom user attribute: only their users' lookups read
    #: the attribute table (empty in most installations).
    with_attributes: frozenset[str] = frozenset()

    def realm(self, name: str) -> RealmView | None:
        """The realm ``name`` (any case); None for an empty or unknown name."""
        return self.realms.get(name.strip().lower()) if name else None


def _ordered(realm: Realm, resolvers: Mapping[str, StoredResolver]) -> tuple[Member, ...]:
    members = sorted(
        realm.members,
        key=lambda m: (m.priority is None, m.priority or 0, m.resolver.name),
    )
    return tuple(Member(resolvers[m.resolver.name], m.priority) for m in members)


def load(session: Session, version: str) -> Snapshot:
    resolvers = {
        row.name: StoredResolver(row.name, row.type, row.config or "{}")
        for row in session.scalars(select(ResolverConfig))
    }
    query = select(Realm).options(joinedload(Realm.members)).order_by(Realm.id)
    rows = session.scalars(query).unique().all()
    found = {
        row.name: RealmView(row.name, bool(row.is_default), _ordered(row, resolvers))
        for row in rows
    }
    # The first by id, should a hand-edited database hold several.
    defaults = [row.name for row in rows if row.is_default]
    with_attributes = session.scalars(select(CustomUserAttribute.realm).distinct())
    return Snapshot(
        version,
        realms=found,
        resolvers=resolvers,
        default=found[defaults[0]] if defaults else None,
        with_attributes=frozenset(with_attributes),
    )


class RealmCache:
    def __init__(self, reload_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._cache: VersionedCache[Snapshot] = VersionedCache(
            load=load,
            read_version=lambda session: versions.read_version(session, VERSION_KEY),
            bump=lambda session: versions.bump_version(session, VERSION_KEY),
            dirty_key=DIRTY,
            reload_seconds=reload_seconds,
            own_changes="read",
            clock=clock,
        )

    def changed(self, session: Session) -> None:
        """``session`` changed realms, resolvers or which realms have custom
        attributes: every process reloads once it commits."""
        self._cache.changed(session)

    def snapshot(self, session: Session) -> Snapshot:
        return self._cache.get(session)


__all__ = ["Member", "RealmCache", "RealmView", "Snapshot", "StoredResolver"]
