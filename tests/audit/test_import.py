"""Entries another server wrote (a migration) join the chain through
``AuditService.import_entries``, keeping their own dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from factorflow.audit.models import AuditEntry
from factorflow.audit.record import AuditRecord
from factorflow.bootstrap import Services
from factorflow.db.base import utcnow

OLD = datetime(2020, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def test_imported_entries_keep_their_dates_and_are_chained(services: Services) -> None:
    services.audit.write(AuditRecord(action="GET /token/", request_id="a" * 32, startdate=utcnow()))
    records = [
        AuditRecord(
            action="POST /validate/check",
            request_id=f"pi-audit-{n}",
            startdate=OLD,
            date=OLD + timedelta(seconds=n),
            node="pi1",
        )
        for n in (9, 10, 11)
    ]

    first = services.audit.import_entries(records)

    services.audit.write(AuditRecord(action="GET /audit/", request_id="b" * 32, startdate=utcnow()))
    with services.sessions() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [e.request_id for e in entries] == [
            "a" * 32, "pi-audit-9", "pi-audit-10", "pi-audit-11", "b" * 32,
        ]  # fmt: skip
        assert entries[1].id == first
        assert [e.date for e in entries[1:4]] == [OLD + timedelta(seconds=n) for n in (9, 10, 11)]
        assert entries[1].privacyidea_server == "pi1"
        # The newest imported, not the greatest text ("pi-audit-9" > "pi-audit-11").
        assert services.audit.newest_with_request_id(session, "pi-audit-") == "pi-audit-11"
        assert services.audit.newest_with_request_id(session, "other-") is None
        assert services.audit.verify(session).ok
