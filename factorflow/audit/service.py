"""Writing, searching and verifying the audit log.

Entries form a hash chain signed with HMAC-SHA256 under a key kept in the data
directory (``audit/chain.py``); writers append through ``audit/writer.py`` and move
the node's anchor (``audit/anchor.py``); ``verify`` streams the whole log
(``audit/verify.py``). The search API reports privacyIDEA's ``sig_check`` and
``missing_line`` per entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from factorflow.audit.anchor import AnchorFile, AnchorState, read_anchor
from factorflow.audit.chain import NO_HASH, SIGNED_FIELDS, ChainPoint, ChainSigner
from factorflow.audit.models import COLUMN_LENGTHS, AuditChainHead, AuditEntry
from factorflow.audit.record import AuditRecord
from factorflow.audit.verify import ChainVerifier, VerifyReport
from factorflow.audit.writer import HEAD_ID, ChainWriter, Joined, Row
from factorflow.db.base import transaction, utcnow

log = logging.getLogger(__name__)

SEARCHABLE = (
    "action", "success", "authentication", "serial", "token_type", "user", "realm",
    "resolver", "administrator", "action_detail", "info", "privacyidea_server", "client",
    "user_agent", "user_agent_version", "policies", "request_id",
)  # fmt: skip


def _truncate(column: str, value: str) -> str:
    limit = COLUMN_LENGTHS.get(column)
    return value if limit is None or len(value) <= limit else value[: limit - 1] + "…"


def filtered(
    filters: dict[str, str], timelimit: timedelta | None, realms: Set[str] | None = None
) -> Select[AuditEntry]:
    """Entries matching column ``filters`` (``*`` is a wildcard) and the time limit;
    ``realms`` (lower case) keeps only entries of those user realms (an administrator
    whose audit right is limited to them)."""
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
    return query


@dataclass(frozen=True)
class EntryCheck:
    """privacyIDEA's per-entry answers: the signature (and link) verifies; the
    entries right before and after this one exist."""

    sig_ok: bool
    lines_ok: bool


class AuditService:
    def __init__(
        self, sessions: sessionmaker[Session], key: bytes, *, anchor_path: Path, node: str
    ) -> None:
        self._sessions = sessions
        #: Signs every entry and anchor under the audit key.
        self.signer = ChainSigner(key)
        self.anchor_path = anchor_path
        #: Appends entries to the chain, queued writers sharing one transaction.
        self.writer = ChainWriter(sessions, self.signer, AnchorFile(anchor_path, self.signer, node))

    def write(self, record: AuditRecord) -> int:
        """Append the request's entry and then its actions' entries to the chain in
        their own transaction (the request's work is already committed or rolled
        back). Returns the request entry's id (0 if the entry could not be written)."""
        try:
            return self.writer.append([self._row(item) for item in (record, *record.children)])
        except Exception:
            # An audit failure must not turn a finished request into a 500; it is
            # logged loudly for the operator instead.
            log.exception("could not write audit entry for %s", record.action)
            return 0

    def write_within(self, session: Session, record: AuditRecord) -> Joined | None:
        """Append the request's entry and its actions' entries within the request's
        own write transaction ``session``, as its last statements (see
        ``ChainWriter.join``): None when this node cannot append there, and then
        :meth:`write` after the transaction is the way. An error here fails the
        request's transaction: a change is not committed without its audit entry.
        """
        return self.writer.join(session, [self._row(item) for item in (record, *record.children)])

    def import_entries(self, records: Sequence[AuditRecord]) -> int:
        """Append entries another server wrote (a migration) as the next entries of the
        chain, in their order, with their own dates, signed and linked under this
        installation's key like any other; returns the first one's id. Unlike
        :meth:`write`, a failure is raised: the importer reports it."""
        return self.writer.append([self._row(record) for record in records])

    def newest_with_request_id(self, session: Session, prefix: str) -> str | None:
        """The request id of the newest entry whose request id starts with ``prefix``
        (an importer's mark), None if there is none. A range on the request id index,
        not a scan of the log."""
        column = AuditEntry.request_id
        newest = session.scalar(
            select(func.max(AuditEntry.id)).where(
                column >= prefix, column < prefix[:-1] + chr(ord(prefix[-1]) + 1)
            )
        )
        if newest is None:
            return None
        return session.scalar(select(column).where(AuditEntry.id == newest))

    def _row(self, record: AuditRecord) -> Row:
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
        row: Row = {k: _truncate(k, v) for k, v in values.items()}
        row.update(
            date=record.date or utcnow(),
            startdate=record.startdate,
            duration=round(record.duration, 6),
            success=record.success,
            trace=record.trace,
        )
        return row

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
        """One page of entries and the number of all that match."""
        query = filtered(filters, timelimit, realms)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        order = AuditEntry.id.asc() if sortorder == "asc" else AuditEntry.id.desc()
        rows = session.scalars(
            query.order_by(order).offset((page - 1) * page_size).limit(page_size)
        )
        return list(rows), total

    def batch_after(
        self,
        session: Session,
        filters: dict[str, str],
        *,
        timelimit: timedelta | None,
        after: int,
        size: int,
        realms: Set[str] | None = None,
    ) -> list[AuditEntry]:
        """The next ``size`` matching entries after id ``after``, oldest first (for
        exports that walk the whole log without OFFSET)."""
        query = filtered(filters, timelimit, realms).where(AuditEntry.id > after)
        return list(session.scalars(query.order_by(AuditEntry.id).limit(size)))

    def checks(self, session: Session, entries: Sequence[AuditEntry]) -> dict[int, EntryCheck]:
        """``sig_check`` and ``missing_line`` for a page of entries (one query for the
        neighbours whose signatures the links need)."""
        if not entries:
            return {}
        head = session.get(AuditChainHead, HEAD_ID)
        genesis = head.genesis if head is not None else 0
        known = {entry.id: entry.signature for entry in entries}
        wanted = {n for entry in entries for n in (entry.id - 1, entry.id + 1)} - set(known)
        if wanted:
            rows = session.execute(
                select(AuditEntry.id, AuditEntry.signature).where(AuditEntry.id.in_(wanted))
            )
            known.update({int(i): str(sig) for i, sig in rows})
        known[0] = NO_HASH
        return {
            entry.id: EntryCheck(
                sig_ok=self._entry_ok(entry, genesis, known.get(entry.id - 1)),
                lines_ok=entry.id - 1 in known and entry.id + 1 in known,
            )
            for entry in entries
        }

    def _entry_ok(self, entry: AuditEntry, genesis: int, prev: str | None) -> bool:
        row = {name: getattr(entry, name) for name in SIGNED_FIELDS} | {"id": entry.id}
        if entry.id <= genesis:
            return self.signer.same(entry.signature, self.signer.legacy(row))
        return prev is not None and self.signer.same(
            entry.signature, self.signer.entry(row, entry.id, prev)
        )

    def entry_ok(self, entry: AuditEntry) -> bool:
        """Whether ``entry``'s signature verifies against its predecessor as stored now."""
        with transaction(self._sessions) as session:
            return self.checks(session, [entry])[entry.id].sig_ok

    def anchors(self, extra: Sequence[Path] = ()) -> list[tuple[str, AnchorState]]:
        """This node's anchor and any others given (other nodes' anchor files)."""
        return [(str(path), read_anchor(path, self.signer)) for path in (self.anchor_path, *extra)]

    def verify(
        self,
        session: Session,
        *,
        anchors: Sequence[Path] = (),
        progress: Callable[[int, int], None] | None = None,
    ) -> VerifyReport:
        """Check the whole chain, its head and the anchors (see ``audit/verify.py``)."""
        return ChainVerifier(self.signer, self.anchors(anchors)).run(session, progress)

    def close(self) -> None:
        self.writer.close()

    def reanchor(self) -> ChainPoint | None:
        """Move this node's anchor to the database's (validly signed) head."""
        return self.writer.reanchor()
