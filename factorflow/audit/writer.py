"""Appending entries to the audit chain.

One audit write is one transaction that claims the next sequence numbers and
inserts the entries already signed:

* **hit** (the usual case: the database head is the one this node's anchor names):
  ``UPDATE audit_chain ... WHERE seq = <anchor seq> AND hash = <anchor hash>``, then
  one ``INSERT`` of the entries: two statements, as many as the old insert-then-sign.
* **miss** (another node wrote in between, the head row is missing, or the head no
  longer is what this node wrote): the conditional update changes nothing, the head
  is read ``FOR UPDATE``, checked against the anchor, and then updated.

The row lock on the head (and SQLite's single writer) makes writers of every process
and node take turns, so sequence numbers have no gaps or duplicates and every entry
links to the one before it. The anchor is moved after the commit, and only when the
head this write extended still contains the anchor's point; otherwise the anchor
stays where it is — as evidence for ``factorflow audit verify`` — and the write is
logged as an error.

A request that writes appends its entries within its own transaction instead
(:meth:`ChainWriter.join`), as that transaction's last two statements, when this
node's anchor is the head; otherwise, or when that transaction fails, after it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from factorflow.audit.anchor import AnchorFile, AnchorState
from factorflow.audit.chain import NO_HASH, ChainPoint, ChainSigner
from factorflow.audit.models import AUDIT_CHAIN_TABLE, AUDIT_TABLE, AuditChainHead, AuditEntry
from factorflow.db.base import (
    after_commit,
    is_retryable_conflict,
    transaction,
    when_ended,
    writer_turn,
)

log = logging.getLogger(__name__)

HEAD_ID = 1
HEAD_KIND = "audit-head"
_ATTEMPTS = 5

Row = dict[str, object]

# Built once: an audit write runs on every request, and building and caching a
# statement costs more than executing it.
_MOVE_HEAD = (
    update(AUDIT_CHAIN_TABLE)
    .where(AUDIT_CHAIN_TABLE.c.id == HEAD_ID)
    .values(
        genesis=bindparam("new_genesis"),
        seq=bindparam("new_seq"),
        hash=bindparam("new_hash"),
        signature=bindparam("new_signature"),
    )
)
_CLAIM_HEAD = _MOVE_HEAD.where(
    AUDIT_CHAIN_TABLE.c.genesis == bindparam("old_genesis"),
    AUDIT_CHAIN_TABLE.c.seq == bindparam("old_seq"),
    AUDIT_CHAIN_TABLE.c.hash == bindparam("old_hash"),
)
_INSERT_ENTRIES = insert(AUDIT_TABLE)


@dataclass
class _Pending:
    """One caller's entries, waiting for a writer to put them in the chain."""

    rows: Sequence[Row]
    first: int = 0
    error: Exception | None = None
    written: bool = False


@dataclass
class Joined:
    """Entries appended within a caller's unit of work: ``written`` once it committed."""

    first: int
    written: bool = False


@dataclass(frozen=True)
class _Appended:
    first: int
    head: ChainPoint
    move_anchor: bool


def head_point(head: AuditChainHead) -> ChainPoint:
    return ChainPoint(head.genesis, head.seq, head.hash)


def entry_signature(session: Session, seq: int) -> str | None:
    """The stored signature of entry ``seq`` (``NO_HASH`` for 0, None if missing)."""
    if seq == 0:
        return NO_HASH
    return session.scalar(select(AuditEntry.signature).where(AuditEntry.id == seq))


class ChainWriter:
    def __init__(
        self, sessions: sessionmaker[Session], signer: ChainSigner, anchor: AnchorFile
    ) -> None:
        self._sessions = sessions
        self._signer = signer
        #: The node-wide write lock (and the anchor it keeps): whoever holds it writes.
        self.anchor = anchor
        self._reported: ChainPoint | None = None
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []

    @property
    def waiting(self) -> int:
        """How many callers' entries wait for the next batch."""
        with self._queue_lock:
            return len(self._queue)

    def append(self, rows: Sequence[Row]) -> int:
        """Sign and insert ``rows`` (column values without id and signature) as the
        next entries of the chain; returns the first one's id.

        The chain lets one writer at a time in, for a whole transaction (commit and
        its flush to disk included). So that this does not cap the audit at one commit
        at a time, callers queue their entries, and whoever gets the lock writes all
        that are queued by then in one transaction (a group commit): under load many
        requests share one head update, one insert and one commit.
        """
        mine = _Pending(rows)
        with self._queue_lock:
            self._queue.append(mine)
        # The writer's turn before the node lock: a request that appends within its
        # own write transaction (``join``) holds them in that order.
        with writer_turn(self._sessions), self.anchor.held():
            if not mine.written:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._write(batch)
        if mine.error is not None:
            raise mine.error
        return mine.first

    def _write(self, batch: list[_Pending]) -> None:
        try:
            self._write_together(batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error, batch[0].written = exc, True
                return
            # One entry the database refuses must not cost the others theirs.
            for item in batch:
                try:
                    self._write_together([item])
                except Exception as single:
                    item.error, item.written = single, True

    def _write_together(self, batch: list[_Pending]) -> None:
        state = self.anchor.read()
        done = self._in_transaction([row for item in batch for row in item.rows], state)
        if done.move_anchor:
            self.anchor.write(done.head)
        first = done.first
        for item in batch:
            item.first, item.written = first, True
            first += len(item.rows)

    def join(self, session: Session, rows: Sequence[Row]) -> Joined | None:
        """Append ``rows`` within the caller's write transaction ``session``, as its
        last statements: one conditional ``UPDATE`` of the head and one ``INSERT``.

        Only where this node's anchor is the database head (the usual case on one
        node); None otherwise, having changed nothing, and the caller appends after
        its commit instead (:meth:`append`, which can read and check the head). The
        node lock is held from the head update until ``session``'s transaction ends,
        and the anchor moves only once it has committed.
        """
        # What the session still holds back goes first: sent at the commit, after the
        # node lock, it could wait there for a row whose holder waits for the node
        # lock, a deadlock no database sees. Past this point the transaction takes no
        # row lock but the chain head's.
        session.flush()
        turn = ExitStack()
        turn.enter_context(self.anchor.held())
        try:
            state = self.anchor.read()
            if state.point is None:
                turn.close()
                return None
            signed, head = self._sign(rows, state.point)
            if not self._claim_from(session, state.point, head):
                turn.close()
                return None
            self._insert(session, signed)
        except BaseException:
            turn.close()
            raise
        joined = Joined(first=state.point.seq + 1)

        def committed() -> None:
            self.anchor.write(head)
            joined.written = True

        after_commit(session, committed)
        when_ended(session, turn.close)
        return joined

    def close(self) -> None:
        self.anchor.close()

    def reanchor(self) -> ChainPoint | None:
        """Set this node's anchor to the database's head if its signature verifies
        (after a restore from backup, or once a reported divergence is dealt with);
        None if the head is missing or not validly signed."""
        with self.anchor.held(), transaction(self._sessions) as session:
            head = session.get(AuditChainHead, HEAD_ID)
            if head is None or not head.signature:
                return None
            point = head_point(head)
            if not self._signer.same(head.signature, self._signer.point(HEAD_KIND, point)):
                return None
            self.anchor.write(point)
            self._reported = None
            return point

    def _in_transaction(self, rows: Sequence[Row], state: AnchorState) -> _Appended:
        for attempt in range(_ATTEMPTS):
            try:
                with transaction(self._sessions, write=True) as session:
                    return self._append(session, rows, state)
            except (IntegrityError, OperationalError) as exc:
                # Two nodes creating the missing head row at once, or a write conflict:
                # the loser starts again and finds the other's head.
                retry = isinstance(exc, IntegrityError) or is_retryable_conflict(exc)
                if not retry or attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _append(self, session: Session, rows: Sequence[Row], state: AnchorState) -> _Appended:
        if state.point is not None:
            signed, head = self._sign(rows, state.point)
            if self._claim_from(session, state.point, head):
                self._insert(session, signed)
                return _Appended(state.point.seq + 1, head, move_anchor=True)
        current = self._locked_head(session, state)
        move = self._anchor_still_holds(session, state, current)
        signed, head = self._sign(rows, current)
        session.connection().execute(_MOVE_HEAD, self._head_values(head))
        self._insert(session, signed)
        return _Appended(current.seq + 1, head, move_anchor=move)

    def _sign(self, rows: Sequence[Row], prev: ChainPoint) -> tuple[list[Row], ChainPoint]:
        signed: list[Row] = []
        seq, link = prev.seq, prev.hash
        for row in rows:
            seq += 1
            link = self._signer.entry(row, seq, link)
            signed.append({**row, "id": seq, "signature": link})
        return signed, ChainPoint(prev.genesis, seq, link)

    def _head_values(self, head: ChainPoint) -> Row:
        return {
            "new_genesis": head.genesis,
            "new_seq": head.seq,
            "new_hash": head.hash,
            "new_signature": self._signer.point(HEAD_KIND, head),
        }

    def _claim_from(self, session: Session, prev: ChainPoint, head: ChainPoint) -> bool:
        """Move the head from ``prev`` to ``head`` if it still is ``prev`` (one statement)."""
        values = self._head_values(head)
        values.update(old_genesis=prev.genesis, old_seq=prev.seq, old_hash=prev.hash)
        return bool(session.connection().execute(_CLAIM_HEAD, values).rowcount)

    def _insert(self, session: Session, signed: list[Row]) -> None:
        session.connection().execute(_INSERT_ENTRIES, signed)

    def _locked_head(self, session: Session, state: AnchorState) -> ChainPoint:
        head = session.scalars(
            select(AuditChainHead).where(AuditChainHead.id == HEAD_ID).with_for_update()
        ).one_or_none()
        if head is not None:
            return head_point(head)
        return self._recreate_head(session, state)

    def _recreate_head(self, session: Session, state: AnchorState) -> ChainPoint:
        """The head row is missing (emptied tables, or deleted): start it again at the
        newest entry, keeping the anchor's genesis if there is one."""
        newest = session.execute(
            select(AuditEntry.id, AuditEntry.signature).order_by(AuditEntry.id.desc()).limit(1)
        ).one_or_none()
        seq, link = (int(newest[0]), str(newest[1])) if newest is not None else (0, NO_HASH)
        genesis = state.point.genesis if state.point is not None else seq
        point = ChainPoint(min(genesis, seq), seq, link)
        signature = self._signer.point(HEAD_KIND, point)
        session.add(
            AuditChainHead(
                id=HEAD_ID, genesis=point.genesis, seq=seq, hash=link, signature=signature
            )
        )
        session.flush()
        if state.point is not None:
            log.error("the audit chain's head row was missing; it was recreated at %s", seq)
        return point

    def _anchor_still_holds(
        self, session: Session, state: AnchorState, current: ChainPoint
    ) -> bool:
        """Whether the database head ``current`` still contains the anchor's point, so
        that the anchor may move on to the head this write makes."""
        if state.absent:
            return True
        anchor = state.point
        if anchor is None:
            problem = state.problem
        elif anchor.genesis != current.genesis:
            problem = f"the chain's genesis changed from {anchor.genesis} to {current.genesis}"
        elif current.seq < anchor.seq:
            problem = f"the head went back from {anchor.seq} to {current.seq}"
        elif current.seq == anchor.seq:
            if current.hash == anchor.hash:
                return True
            problem = f"entry {anchor.seq} is not the one this node wrote"
        elif entry_signature(session, anchor.seq) != anchor.hash:
            problem = f"entry {anchor.seq} is missing or is not the one this node wrote"
        else:
            return True
        self._report(anchor, problem)
        return False

    def _report(self, anchor: ChainPoint | None, problem: str) -> None:
        if anchor is not None and anchor == self._reported:
            return
        self._reported = anchor
        log.error(
            "audit chain does not continue this node's anchor (%s); the anchor stays at "
            "entry %s as evidence: run 'factorflow audit verify'",
            problem,
            anchor.seq if anchor is not None else "-",
        )
