"""What a migration writes through: Factorflow's services, and the run itself.

Every item is written in its own savepoint of one unit of work: an item the services
refuse is rolled back alone and reported with their reason; a dry run rolls back the
whole unit of work at the end, so it reports exactly what a real run would do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from factorflow.admins.service import AdminService
from factorflow.db.base import transaction, utcnow
from factorflow.db.models import ImportedItem
from factorflow.errors import FactorflowError
from factorflow.events.service import EventService
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
    #: Where privacyIDEA's pepper is kept for the imported admins' password hashes.
    pepper_file: Path


def run(
    target: MigrationTarget,
    source: str,
    items: Sequence[Item],
    *,
    dry_run: bool,
    progress: Progress | None = None,
) -> Report:
    """Import ``items`` of ``source`` (e.g. ``privacyidea``) that are new or changed
    since the last run; report every outcome."""
    report = Report(dry_run=dry_run)
    with transaction(target.sessions, write=True) as session:
        ledger = {
            (row.kind, row.key): row
            for row in session.scalars(select(ImportedItem).where(ImportedItem.source == source))
        }
        for item in items:
            _one(session, source, item, ledger, report)
            if progress is not None:
                progress(item)
        if dry_run:
            session.rollback()
    return report


def _one(
    session: Session,
    source: str,
    item: Item,
    ledger: dict[tuple[str, str], ImportedItem],
    report: Report,
) -> None:
    if item.apply is None:
        report.refuse(item, item.refused)
        return
    seen = ledger.get((item.kind, item.key))
    if seen is not None and seen.digest == item.digest:
        report.count(item, "unchanged")
        return
    try:
        with session.begin_nested():
            item.apply(session)
    except FactorflowError as exc:
        report.refuse(item, exc.message)
        return
    if seen is None:
        seen = ImportedItem(source=source, kind=item.kind, key=item.key, digest="")
        session.add(seen)
        ledger[item.kind, item.key] = seen
        report.count(item, "new")
    else:
        report.count(item, "updated")
    seen.digest, seen.imported_at = item.digest, utcnow()
    session.flush()
