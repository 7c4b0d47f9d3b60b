"""Writing audit entries and tampering with them as someone with database access would."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select, update

from factorflow.audit.models import AUDIT_TABLE, AuditChainHead, AuditEntry
from factorflow.audit.record import AuditRecord
from factorflow.audit.verify import VerifyReport
from factorflow.bootstrap import Services
from factorflow.db.base import utcnow

#: Every column an attacker could move between rows (all but the primary key).
CONTENT = [column.name for column in AUDIT_TABLE.columns if column.name != "id"]


def record(label: str, children: int = 0) -> AuditRecord:
    request_id = uuid.uuid4().hex
    entry = AuditRecord(
        action=f"POST /test/{label}", request_id=request_id, startdate=utcnow(), info=label
    )
    entry.children = [
        AuditRecord(
            action=f"POST-EVENT test>>Logging:{n}", request_id=request_id, startdate=utcnow()
        )
        for n in range(children)
    ]
    return entry


def write(services: Services, count: int, label: str = "entry") -> list[int]:
    ids = [services.audit.write(record(f"{label}-{n}")) for n in range(count)]
    assert all(ids), ids
    return ids


def verify(services: Services) -> VerifyReport:
    with services.sessions.begin() as session:
        return services.audit.verify(session)


def ids(services: Services) -> list[int]:
    with services.sessions.begin() as session:
        return list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))


def delete_ids(services: Services, *numbers: int) -> None:
    with services.sessions.begin() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.id.in_(numbers)))


def delete_all(services: Services) -> None:
    with services.sessions.begin() as session:
        session.execute(delete(AuditEntry))


def swap_contents(services: Services, first: int, second: int) -> None:
    """Exchange every column but the id (signatures included) of two entries."""
    with services.sessions.begin() as session:
        rows = {
            row["id"]: {name: row[name] for name in CONTENT}
            for row in session.execute(
                select(AUDIT_TABLE).where(AUDIT_TABLE.c.id.in_((first, second)))
            ).mappings()
        }
        for target, source in ((first, second), (second, first)):
            session.execute(
                update(AUDIT_TABLE).where(AUDIT_TABLE.c.id == target).values(rows[source])
            )


def head_row(services: Services) -> dict[str, object]:
    with services.sessions.begin() as session:
        head = session.get(AuditChainHead, 1)
        assert head is not None
        return {
            "genesis": head.genesis,
            "seq": head.seq,
            "hash": head.hash,
            "signature": head.signature,
        }


def set_head(services: Services, values: dict[str, object]) -> None:
    with services.sessions.begin() as session:
        session.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(values))


def roll_back(
    services: Services, kept: int, lost: int, writer: Services | None = None
) -> list[int]:
    """The attack on the newest entries: write ``kept`` entries, keep a copy of the
    (validly signed) head, write ``lost`` more (through ``writer``, another node, if
    given), delete those and put the old head back. Returns the lost entries' ids."""
    write(services, kept)
    old = head_row(services)
    written = write(writer or services, lost)
    delete_ids(services, *written)
    set_head(services, old)
    return written
