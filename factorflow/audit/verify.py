"""Verifying the audit chain: every entry, the head and the anchors, in one pass.

The entries are streamed in id order in batches (keyset pagination, plain rows), so
memory stays flat on millions of entries. What is found is reported per kind of
tampering, each with its first bad sequence number and the numbers (or ranges)
concerned; the kinds double as the exit codes of ``factorflow audit verify``.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import cast

from sqlalchemy import RowMapping, func, select
from sqlalchemy.orm import Session

from factorflow.audit.anchor import AnchorState
from factorflow.audit.chain import NO_HASH, ChainPoint, ChainSigner
from factorflow.audit.models import AUDIT_TABLE, AuditChainHead, AuditEntry
from factorflow.audit.writer import HEAD_ID, HEAD_KIND, head_point

_BATCH = 5000
_SAMPLE = 20


class Tamper(IntEnum):
    """A kind of tampering; the value is ``factorflow audit verify``'s exit code."""

    ALTERED = 3
    DELETED = 4
    TRUNCATED = 5
    ROLLED_BACK = 6
    UNANCHORED = 7


TAMPER_TEXT = {
    Tamper.ALTERED: "entries altered (edited, reordered or forged)",
    Tamper.DELETED: "entries deleted",
    Tamper.TRUNCATED: "newest entries deleted (the log ends early)",
    Tamper.ROLLED_BACK: "head or anchor does not match the chain (rolled back or rewritten)",
    Tamper.UNANCHORED: "no usable anchor: deleting the newest entries would go unnoticed",
}


@dataclass
class Finding:
    kind: Tamper
    first: int
    #: Disjoint, sorted, adjacent ones merged.
    ranges: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, start: int, end: int, note: str) -> None:
        """Count ``start..end`` once, however many checks report it."""
        self.first = min(self.first, start)
        ranges = self.ranges
        if not ranges or start > ranges[-1][1] + 1:  # the usual case: in stream order
            ranges.append((start, end))
        else:
            at = bisect.bisect_left(ranges, (start, start))
            if at and ranges[at - 1][1] + 1 >= start:
                at -= 1
            stop = at
            while stop < len(ranges) and ranges[stop][0] <= end + 1:
                start, end = min(start, ranges[stop][0]), max(end, ranges[stop][1])
                stop += 1
            ranges[at:stop] = [(start, end)]
        if note and note not in self.notes and len(self.notes) < _SAMPLE:
            self.notes.append(note)

    @property
    def count(self) -> int:
        return sum(end - start + 1 for start, end in self.ranges)

    def numbers(self) -> str:
        shown = self.ranges[:_SAMPLE]
        text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in shown)
        return text + (", ..." if len(self.ranges) > _SAMPLE else "")


@dataclass
class VerifyReport:
    checked: int = 0
    #: Entries up to the genesis: written before the chain, checked one by one only.
    legacy: int = 0
    genesis: int = 0
    head: int | None = None
    anchors: int = 0
    #: Entries right after a gap, whose link cannot be checked.
    unlinked: int = 0
    findings: dict[Tamper, Finding] = field(default_factory=dict)

    def add(self, kind: Tamper, start: int, end: int | None = None, note: str = "") -> None:
        finding = self.findings.setdefault(kind, Finding(kind, start))
        finding.add(start, start if end is None else end, note)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad(self) -> int | None:
        return min((f.first for f in self.findings.values()), default=None)

    @property
    def exit_code(self) -> int:
        """0 if intact; otherwise the gravest kind found (rolled back > truncated >
        deleted > altered), or 7 when the only finding is a missing anchor."""
        tampered = [kind for kind in self.findings if kind is not Tamper.UNANCHORED]
        if tampered:
            return int(max(tampered))
        return int(Tamper.UNANCHORED) if self.findings else 0

    def ids(self, kind: Tamper) -> list[int]:
        finding = self.findings.get(kind)
        if finding is None:
            return []
        return [n for a, b in finding.ranges for n in range(a, b + 1)]


Progress = Callable[[int, int], None]


def stream_rows(session: Session, batch: int = _BATCH) -> Iterator[Sequence[RowMapping]]:
    """The audit entries in id order, ``batch`` plain rows at a time."""
    table = AUDIT_TABLE
    last = 0
    while True:
        rows = (
            session.execute(
                select(table).where(table.c.id > last).order_by(table.c.id).limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        yield rows
        last = int(rows[-1]["id"])


class ChainVerifier:
    """One verification pass (make a new one per pass)."""

    def __init__(self, signer: ChainSigner, anchors: Sequence[tuple[str, AnchorState]]) -> None:
        self._signer = signer
        self._anchors = anchors
        self.report = VerifyReport()
        self._head: AuditChainHead | None = None
        #: Signatures of the entries the head and the anchors name, as found.
        self._seen: dict[int, str] = {0: NO_HASH}
        self._last_id = 0
        self._last_sig = NO_HASH

    def run(self, session: Session, progress: Progress | None = None) -> VerifyReport:
        report = self.report
        self._head = head = session.get(AuditChainHead, HEAD_ID, populate_existing=True)
        points = [state.point for _, state in self._anchors if state.point is not None]
        report.head = head.seq if head is not None else None
        report.genesis = (
            head.genesis if head is not None else min((p.genesis for p in points), default=0)
        )
        watched = {p.seq for p in points} | ({head.seq} if head is not None else set())
        total = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
        for rows in stream_rows(session):
            for found in rows:
                row = cast(Mapping[str, object], found)
                seq, signature = int(found["id"]), str(found["signature"])
                self._check_row(row, seq)
                if seq in watched:
                    self._seen[seq] = signature
                self._last_id, self._last_sig = seq, signature
            report.checked += len(rows)
            if progress is not None:
                progress(report.checked, max(total, report.checked))
        if self._last_id < report.genesis:
            note = "the newest entries from before the chain are missing"
            report.add(Tamper.TRUNCATED, self._last_id + 1, report.genesis, note)
        self._check_head()
        self._check_anchors()
        return report

    @property
    def _last(self) -> int:
        """The newest sequence number the table reaches (the genesis if none is chained)."""
        return max(self._last_id, self.report.genesis)

    def _check_row(self, row: Mapping[str, object], seq: int) -> None:
        report, genesis, last_id = self.report, self.report.genesis, self._last_id
        signature = str(row["signature"])
        if seq <= genesis:
            report.legacy += 1
            if last_id and seq != last_id + 1:
                report.add(Tamper.DELETED, last_id + 1, seq - 1, "gap before the chain")
            if not self._signer.same(signature, self._signer.legacy(row)):
                report.add(Tamper.ALTERED, seq)
            return
        if genesis and last_id < genesis and seq == genesis + 1:
            report.add(Tamper.DELETED, genesis, genesis, "the last entry before the chain")
        expected = max(last_id, genesis) + 1
        if seq > expected:
            report.add(Tamper.DELETED, expected, seq - 1)
        if seq - 1 != last_id:
            report.unlinked += 1
        elif not self._signer.same(signature, self._signer.entry(row, seq, self._last_sig)):
            report.add(Tamper.ALTERED, seq)

    def _check_head(self) -> None:
        report, head, last = self.report, self._head, self._last
        genesis, chained = report.genesis, self._last_id > report.genesis
        if head is None:
            if chained or any(state.point is not None for _, state in self._anchors):
                report.add(Tamper.ROLLED_BACK, genesis + 1, note="the head row is missing")
            return
        point = head_point(head)
        if not head.signature:
            if point.seq != genesis or chained:
                report.add(Tamper.ROLLED_BACK, genesis + 1, note="the head is not signed")
        elif not self._signer.same(head.signature, self._signer.point(HEAD_KIND, point)):
            note = "the head's signature does not verify"
            report.add(Tamper.ROLLED_BACK, min(point.seq, last) + 1, note=note)
        elif point.seq > last:
            note = f"the head says the log reaches {point.seq}"
            report.add(Tamper.TRUNCATED, last + 1, point.seq, note)
        elif point.seq < last:
            report.add(
                Tamper.ROLLED_BACK, point.seq + 1, last, f"entries after the head {point.seq}"
            )
        elif self._seen.get(point.seq, point.hash) != point.hash:
            report.add(Tamper.ROLLED_BACK, point.seq, note="the head names another entry")

    def _check_anchors(self) -> None:
        report = self.report
        for source, state in self._anchors:
            if state.point is not None:
                report.anchors += 1
                self._check_anchor(source, state.point)
            elif state.problem:
                report.add(Tamper.UNANCHORED, self._last + 1, note=f"{source}: {state.problem}")
        if not report.anchors and report.checked > report.legacy:
            report.add(Tamper.UNANCHORED, self._last, note="no anchor file was found")

    def _check_anchor(self, source: str, anchor: ChainPoint) -> None:
        report, head, last = self.report, self._head, self._last
        if anchor.genesis != report.genesis:
            note = f"{source}: the chain started at {anchor.genesis}, not {report.genesis}"
            report.add(Tamper.ROLLED_BACK, min(anchor.genesis, report.genesis) + 1, note=note)
        elif anchor.seq > last:
            report.add(
                Tamper.TRUNCATED, last + 1, anchor.seq, f"{source}: the log reached {anchor.seq}"
            )
            if head is not None and head.seq < anchor.seq:
                note = f"{source}: the head ({head.seq}) is older than the anchor ({anchor.seq})"
                report.add(Tamper.ROLLED_BACK, head.seq + 1, note=note)
        elif anchor.seq in self._seen and not self._signer.same(
            self._seen[anchor.seq], anchor.hash
        ):
            note = f"{source}: entry {anchor.seq} is not the one written: the chain was rewritten"
            report.add(Tamper.ROLLED_BACK, anchor.seq, note=note)
