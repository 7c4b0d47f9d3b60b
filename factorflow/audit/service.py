"""Writing, searching and verifying the audit log.

Each entry is signed with HMAC-SHA256 over a canonical serialisation under a key
kept in the data directory; ``verify`` recomputes the signatures and reports ids
missing from the sequence (deleted lines), as privacyIDEA's sig_check and
missing_line do.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from factorflow.audit.models import COLUMN_LENGTHS, AuditEntry
from factorflow.audit.record import AuditRecord
from factorflow.db.base import transaction, utcnow

log = logging.getLogger(__name__)

SIGNED_FIELDS = (
    "date", "startdate", "duration", "action", "success", "authentication", "serial",
    "token_type", "user", "realm", "resolver", "administrator", "action_detail", "info",
    "privacyidea_server", "client", "user_agent", "user_agent_version", "policies",
    "request_id", "trace",
)  # fmt: skip

SEARCHABLE = (
    "action", "success", "authentication", "serial", "token_type", "user", "realm",
    "resolver", "administrator", "action_detail", "info", "privacyidea_server", "client",
    "user_agent", "user_agent_version", "policies", "request_id",
)  # fmt: skip


def _truncate(column: str, value: str) -> str:
    limit = COLUMN_LENGTHS.get(column)
    return value if limit is None or len(value) <= limit else value[: limit - 1] + "…"


def _canonical(entry: AuditEntry) -> bytes:
    data: dict[str, Any] = {}
    for name in SIGNED_FIELDS:
        value = getattr(entry, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, float):
            value = round(value, 6)
        data[name] = value
    data["id"] = entry.id
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    bad_signatures: list[int]
    missing_ids: list[int]

    @property
    def ok(self) -> bool:
        return not self.bad_signatures and not self.missing_ids


class AuditService:
    def __init__(self, sessions: sessionmaker[Session], key: bytes) -> None:
        self._sessions = sessions
        self._key = key

    def sign(self, entry: AuditEntry) -> str:
        return hmac.new(self._key, _canonical(entry), hashlib.sha256).hexdigest()

    def write(self, record: AuditRecord) -> int:
        """Persist the request's entry and then its actions' entries in their own
        transaction (the request's work is already committed or rolled back), each
        signed once its id is known. Returns the request entry's id."""
        try:
            with transaction(self._sessions, write=True) as session:
                first = 0
                for item in (record, *record.children):
                    entry = self._entry(item)
                    session.add(entry)
                    session.flush()
                    entry.signature = self.sign(entry)
                    first = first or entry.id
                return first
        except Exception:
            # An audit failure must not turn a finished request into a 500; it is
            # logged loudly for the operator instead.
            log.exception("could not write audit entry for %s", record.action)
            return 0

    def _entry(self, record: AuditRecord) -> AuditEntry:
        values = {
            "action": record.action,
            "authentication": record.authentication,
            "serial": record.serial,
            "token_type": record.token_type,
            "user": record.user,
            "realm": record.realm,
            "resolver": record.resolver,
            "administrator": record.administrator,
            "action_detail": record.action_detail,
            "info": record.info,
            "privacyidea_server": record.node,
            "client": record.client,
            "user_agent": record.user_agent,
            "user_agent_version": record.user_agent_version,
            "policies": record.policies,
            "request_id": record.request_id,
        }
        clean = {k: _truncate(k, v) for k, v in values.items()}
        now = utcnow()
        return AuditEntry(
            date=now.replace(microsecond=now.microsecond),
            startdate=record.startdate,
            duration=round(record.duration, 6),
            success=record.success,
            trace=record.trace,
            **clean,
        )

    def search(
        self,
        session: Session,
        filters: dict[str, str],
        *,
        timelimit: timedelta | None,
        page: int,
        page_size: int,
        sortorder: str,
        realms: Set[str] | None = None,
    ) -> tuple[list[AuditEntry], int]:
        """One page of entries; ``realms`` (lower case) keeps only entries of those user
        realms (an administrator whose ``auditlog`` right is limited to them)."""
        query = select(AuditEntry)
        if realms is not None:
            query = query.where(func.lower(AuditEntry.realm).in_(sorted(realms)))
        for name, pattern in filters.items():
            column = getattr(AuditEntry, name)
            if name == "success":
                query = query.where(column.is_(pattern.lower() in ("1", "true")))
            elif "*" in pattern:
                escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                query = query.where(column.like(escaped.replace("*", "%"), escape="\\"))
            else:
                query = query.where(column == pattern)
        if timelimit is not None:
            query = query.where(AuditEntry.date >= utcnow() - timelimit)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        order = AuditEntry.id.asc() if sortorder == "asc" else AuditEntry.id.desc()
        rows = session.scalars(
            query.order_by(order).offset((page - 1) * page_size).limit(page_size)
        )
        return list(rows), total

    def entry_ok(self, entry: AuditEntry) -> bool:
        return hmac.compare_digest(entry.signature, self.sign(entry))

    def iter_entries(self, session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
        last = 0
        while True:
            rows = list(
                session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.id > last)
                    .order_by(AuditEntry.id)
                    .limit(batch)
                )
            )
            if not rows:
                return
            yield from rows
            last = rows[-1].id

    def verify(self, session: Session) -> VerifyReport:
        bad: list[int] = []
        missing: list[int] = []
        previous: int | None = None
        checked = 0
        for entry in self.iter_entries(session):
            checked += 1
            if not self.entry_ok(entry):
                bad.append(entry.id)
            if previous is not None and entry.id != previous + 1:
                missing.extend(range(previous + 1, min(entry.id, previous + 1001)))
            previous = entry.id
        return VerifyReport(checked=checked, bad_signatures=bad, missing_ids=missing)
