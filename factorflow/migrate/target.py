"""What a migration writes through: Factorflow's services, and the run itself.

All items are written in one unit of work, in batches, each in a savepoint: when the
services refuse an item, its batch is rolled back and written again item by item, so
the refused item alone is left out and reported with their reason. A dry run rolls
back the whole unit of work at the end, so it reports exactly what a real run would do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from factorflow.admins.service import AdminService
from factorflow.audit.service import AuditService
from factorflow.db.base import transaction, utcnow
from factorflow.db.models import ImportedItem
from factorflow.errors import FactorflowError
from factorflow.events.service import EventService
from factorflow.federation.service import FederationService
from factorflow.migrate.items import Item, Report
from factorflow.notify.service import NotifyService
from factorflow.policies.service import PolicyService
from factorflow.tokens.service import TokenService
from factorflow.users.service import UserService

Progress = Callable[[Item], None]


@dataclass(frozen=True)
class MigrationTarget:
    sessions: sessionmaker[Session]
    users: UserService
    tokens: TokenService
    admins: AdminService
    policies: PolicyService
    events: EventService
    notify: NotifyService
    federation: FederationService
    audit: AuditService
    #: Where privacyIDEA's pepper is kept for the imported admins' password hashes.
    pepper_file: Path


#: Items written together in one savepoint. Bigger batches save little more; a batch
#: with a refused item is written again item by item.
BATCH = 500
#: (kind, key) → (ImportedItem id, digest) of what earlier runs imported.
Ledger = dict[tuple[str, str], tuple[int, str]]


def run(
    target: MigrationTarget,
    source: str,
    items: Sequence[Item],
    *,
    dry_run: bool,
    progress: Progress | None = None,
) -> Report:
    """Import ``items`` of ``source`` (e.g. ``privacyidea``) that are new or changed
    since the last run; report every outcome. Items are written in their order (a
    realm after its user stores), in batches of one kind."""
    report = Report(dry_run=dry_run)
    with transaction(target.sessions, write=True) as session:
        writer = _Writer(session, source, report, progress)
        batch: list[Item] = []
        for item in items:
            if batch and (len(batch) >= BATCH or batch[-1].kind != item.kind):
                writer.write(batch)
                batch = []
            if item.apply is None:
                report.refuse(item, item.refused)
            elif writer.unchanged(item):
                report.count(item, "unchanged")
            else:
                batch.append(item)
                continue
            if progress is not None:
                progress(item)
        writer.write(batch)
        if dry_run:
            session.rollback()
    return report


class _Writer:
    """Writes batches of items and remembers what was imported (:class:`ImportedItem`)."""

    def __init__(
        self, session: Session, source: str, report: Report, progress: Progress | None
    ) -> None:
        self.session, self.source, self.report, self.progress = session, source, report, progress
        #: (kind, key) → (ImportedItem id, digest) of what earlier runs imported.
        self.ledger: dict[tuple[str, str], tuple[int, str]] = {
            (kind, key): (row_id, digest)
            for kind, key, row_id, digest in session.execute(
                select(
                    ImportedItem.kind, ImportedItem.key, ImportedItem.id, ImportedItem.digest
                ).where(ImportedItem.source == source)
            )
        }

    def unchanged(self, item: Item) -> bool:
        seen = self.ledger.get((item.kind, item.key))
        return seen is not None and seen[1] == item.digest

    def write(self, batch: list[Item]) -> None:
        """Apply ``batch`` in one savepoint; if the services refuse an item, apply
        each in its own, so only the refused ones are left out. Then record what was
        written and let go of the batch's objects: the session of a long run stays
        small (every flush looks at every object the session holds)."""
        if not batch:
            return
        try:
            with self.session.begin_nested():
                many = batch[0].apply_many
                if many is not None and all(item.apply_many is many for item in batch):
                    many(self.session, batch)
                else:
                    for item in batch:
                        item.apply(self.session)  # type: ignore[misc]
            written = batch
        except FactorflowError:
            written = [item for item in batch if self._one(item)]
        self._record(written)
        if self.progress is not None:
            for item in batch:
                self.progress(item)
        self.session.flush()
        self.session.expunge_all()

    def _one(self, item: Item) -> bool:
        assert item.apply is not None
        try:
            with self.session.begin_nested():
                item.apply(self.session)
        except FactorflowError as exc:
            self.report.refuse(item, exc.message)
            return False
        return True

    def _record(self, written: list[Item]) -> None:
        now = utcnow()
        new: list[dict[str, object]] = []
        changed: list[dict[str, object]] = []
        for item in written:
            state = {"digest": item.digest, "imported_at": now}
            seen = self.ledger.get((item.kind, item.key))
            if seen is None:
                new.append({"source": self.source, "kind": item.kind, "key": item.key, **state})
                self.report.count(item, "new")
            else:
                changed.append({"id": seen[0], **state})
                self.report.count(item, "updated")
        if new:
            self.session.execute(insert(ImportedItem), new)
        if changed:
            self.session.execute(update(ImportedItem), changed)
