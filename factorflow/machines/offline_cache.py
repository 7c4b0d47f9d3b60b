"""Which tokens are attached for offline use, as a per-process snapshot.

Every successful ``/validate/check`` asks whether its token hands out offline values;
almost none does, and the check's hot path must not pay a query for that answer
(``tests/validate/test_statements.py``). The ids of the tokens with an offline link
are a :class:`~factorflow.core.versioned_cache.VersionedCache` on the config row
``__machine_offline_version__``, bumped by every attachment and detachment: other
processes see a new link within ``config_reload_seconds``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.core.versioned_cache import VersionedCache
from factorflow.db import versions
from factorflow.machines.models import MachineToken

VERSION_KEY = "__machine_offline_version__"
DIRTY = "machines.offline_links_changed"


def _load(session: Session, version: str) -> frozenset[int]:
    stmt = select(MachineToken.token_id).where(MachineToken.application == "offline")
    return frozenset(session.scalars(stmt))


class OfflineTokens:
    def __init__(self, reload_seconds: float) -> None:
        self._cache: VersionedCache[frozenset[int]] = VersionedCache(
            load=_load,
            read_version=lambda session: versions.read_version(session, VERSION_KEY),
            bump=lambda session: versions.bump_version(session, VERSION_KEY),
            dirty_key=DIRTY,
            reload_seconds=reload_seconds,
            own_changes="read",
        )

    def changed(self, session: Session) -> None:
        """``session`` attached or detached offline links."""
        self._cache.changed(session)

    def attached(self, session: Session, token_id: int) -> bool:
        return token_id in self._cache.get(session)
