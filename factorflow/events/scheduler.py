"""The scheduler: runs scheduled definitions over every token or user (ADR 0007).

Every job worker (the in-process worker of ``factorflow serve`` and each
``factorflow worker`` process) checks every few seconds for active scheduled
definitions whose ``next_run_at`` has come. Any number of nodes may do so at once:

* **Claiming a slot** is one conditional UPDATE in its own short transaction —
  ``SET next_run_at = <the next slot after now>, last_run_at = now WHERE id = ? AND
  next_run_at = <the slot read>`` — and only the node whose UPDATE changed the row
  (rowcount 1) runs the slot. A second node's UPDATE finds the new value and changes
  nothing, on every database (PostgreSQL and MariaDB re-check the WHERE against the
  committed row after waiting for the first node's lock; SQLite serialises writers).
  Slots missed while no worker ran are run once, not once per missed slot.
* **The sweep** runs in batches of :data:`BATCH_SIZE` items, each batch one
  transaction: per item a framework-free :class:`Invocation` (event ``scheduled``,
  caller the admin ``scheduler``) and :class:`Facts`, and
  :meth:`Dispatcher.run_definition` — the request path's own code: the same condition
  evaluation, the action in a SAVEPOINT, the same audit entry with the condition trace,
  the same metrics. Mail, SMS, webhooks and background scripts become durable jobs in
  the batch's transaction, as on requests. A write conflict retries the batch.
* **The summary**: one audit entry per run (``SCHEDULED /event/<id>``, info
  ``<name>: matched N of M, failed K``), sharing its request_id with the run's action
  entries and with the delivery entries of the jobs they queued.

A run is not resumed: if the worker stops or the database goes away mid-run, the rest
of the slot is skipped and the summary says so; ``abort_on_error`` stops the run at the
first failed action.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from factorflow.audit.record import AuditRecord
from factorflow.db.base import retrying, transaction, utcnow
from factorflow.errors import ParameterError, ResourceNotFoundError
from factorflow.events import guard
from factorflow.events.definition import Definition
from factorflow.events.dispatcher import Dispatcher
from factorflow.events.errors import DefinitionError, HandlerAbortError
from factorflow.events.evaluate import evaluate_definition
from factorflow.events.models import EventDefinition
from factorflow.events.schedule import parse_schedule
from factorflow.events.sweep import (
    SCHEDULER,
    SweepItem,
    UserRef,
    count_tokens,
    invocation,
    item_audit,
    item_facts,
    list_users,
    note_resolved_user,
    resolve,
    token_batch,
)
from factorflow.events.workflows import Workflows, subject_key

if TYPE_CHECKING:
    from factorflow.events.ports import EventPorts

log = logging.getLogger(__name__)

#: How often a worker looks for due definitions.
CHECK_SECONDS = 5.0
#: Tokens or users per transaction.
BATCH_SIZE = 500
_CONFLICT_RETRIES = 5

#: Called after each batch with (items done, items in the sweep).
Progress = Callable[[int, int], None]
T = TypeVar("T")


@dataclass
class RunReport:
    """What one run did; also the summary audit entry."""

    definition_id: int
    name: str
    request_id: str
    #: The claimed slot; None for a run forced outside the schedule.
    slot: datetime | None
    swept: int = 0
    matched: int = 0
    failed: int = 0
    #: Why the run ended before the end of the sweep ("" if it did not).
    stopped: str = ""
    #: User stores that could not be read (users sweep).
    skipped: dict[str, str] = field(default_factory=dict)
    #: The paused run's id when the blast-radius guard held the run back.
    paused: int | None = None

    @property
    def ok(self) -> bool:
        # A paused run failed at nothing: it waits for an admin (and is listed so).
        stopped = bool(self.stopped) and self.paused is None
        return self.failed == 0 and not stopped and not self.skipped

    def summary(self) -> str:
        text = f"{self.name}: matched {self.matched} of {self.swept}, failed {self.failed}"
        if self.skipped:
            text += f"; user stores not read: {', '.join(sorted(self.skipped))}"
        if self.stopped:
            text += f"; stopped: {self.stopped}"
        return text


@dataclass
class _Batch:
    """The outcome of one committed batch."""

    swept: int
    entries: list[AuditRecord]
    aborted: str = ""


class Scheduler:
    def __init__(
        self,
        ports: EventPorts,
        *,
        batch_size: int = BATCH_SIZE,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.ports = ports
        self.dispatcher = Dispatcher(ports)
        self.batch_size = batch_size
        self.stopping = stopping
        self.workflows = Workflows(ports, self.dispatcher, stopping=stopping)

    # -- which definitions, and claiming a slot ------------------------------------

    def run_due(self, now: datetime | None = None) -> list[RunReport]:
        """Run every active scheduled definition whose slot has come (claimed first)."""
        now = now or utcnow()
        with self.ports.sessions() as session:
            rows = session.execute(
                select(EventDefinition.id, EventDefinition.schedule, EventDefinition.next_run_at)
                .where(
                    EventDefinition.active.is_(True),
                    EventDefinition.schedule != "",
                    or_(EventDefinition.next_run_at.is_(None), EventDefinition.next_run_at <= now),
                )
                .order_by(EventDefinition.next_run_at, EventDefinition.id)
            ).all()
        reports = []
        for definition_id, schedule, slot in rows:
            if self.stopping():
                break
            if self.claim(definition_id, schedule, slot, now):
                reports.append(self.execute(definition_id, slot, now))
        confirmed_runs = [] if self.stopping() else guard.claim_confirmed(self.ports)
        for run_id, definition_id, step in confirmed_runs:
            # Confirmed by an admin: run once as planned, without the guard.
            if step is not None:  # a batch of workflow steps
                guard.finished(self.ports, run_id, self.workflows.run_held(run_id, now))
                continue
            confirmed = self.execute(definition_id, None, now, guarded=False)
            guard.finished(self.ports, run_id, confirmed.summary())
            reports.append(confirmed)
        if not self.stopping():
            # Workflow steps that came due (their reports are their audit entries).
            self.workflows.run_due(now)
        return reports

    def claim(
        self, definition_id: int, schedule: str, slot: datetime | None, now: datetime
    ) -> bool:
        """Claim ``slot`` of the definition: True for exactly one caller across all
        nodes. A definition without a slot (None) is only given one, never run."""
        try:
            following = parse_schedule(schedule).next_after(now)
        except ValueError:
            log.error("scheduled definition %s has a bad schedule %r", definition_id, schedule)
            return False
        values: dict[str, datetime] = {"next_run_at": following}
        if slot is not None:
            values["last_run_at"] = now
        statement = (
            update(EventDefinition)
            .where(
                EventDefinition.id == definition_id,
                EventDefinition.active.is_(True),
                EventDefinition.schedule == schedule,
                EventDefinition.next_run_at.is_(None)
                if slot is None
                else EventDefinition.next_run_at == slot,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        with transaction(self.ports.sessions, write=True) as session:
            result = session.execute(statement)
            assert isinstance(result, CursorResult)
            won = result.rowcount == 1
        return won and slot is not None

    def run_one(
        self,
        definition_id: int,
        *,
        force: bool = False,
        now: datetime | None = None,
        progress: Progress | None = None,
    ) -> RunReport | None:
        """Run one scheduled definition: its due slot (claimed; None if it is not due or
        another node has it), or with ``force`` at once, outside the schedule (an
        explicit extra run that claims no slot and leaves ``next_run_at`` alone)."""
        now = now or utcnow()
        with self.ports.sessions() as session:
            row = session.get(EventDefinition, definition_id)
            if row is None:
                raise ResourceNotFoundError(
                    f"The event definition with id {definition_id} does not exist."
                )
            if not row.schedule:
                raise ParameterError(f"The event definition {definition_id} has no schedule.")
            schedule, slot = row.schedule, row.next_run_at
        if force:
            with transaction(self.ports.sessions, write=True) as session:
                session.execute(
                    update(EventDefinition)
                    .where(EventDefinition.id == definition_id)
                    .values(last_run_at=now)
                    .execution_options(synchronize_session=False)
                )
            return self.execute(definition_id, None, now, progress)
        if slot is None or slot > now or not self.claim(definition_id, schedule, slot, now):
            return None
        return self.execute(definition_id, slot, now, progress)

    def scheduled_ids(self, *, due_by: datetime | None = None) -> list[int]:
        """The active scheduled definitions (with ``due_by``: those due by then)."""
        query = select(EventDefinition.id).where(
            EventDefinition.active.is_(True), EventDefinition.schedule != ""
        )
        if due_by is not None:
            query = query.where(EventDefinition.next_run_at <= due_by)
        with self.ports.sessions() as session:
            return list(session.scalars(query.order_by(EventDefinition.id)))

    # -- one run ------------------------------------------------------------------

    def execute(
        self,
        definition_id: int,
        slot: datetime | None,
        now: datetime,
        progress: Progress | None = None,
        *,
        guarded: bool = True,
    ) -> RunReport:
        """Sweep a claimed (or forced) run and write its summary audit entry; with
        ``guarded`` the blast-radius guard may pause it first (:mod:`.guard`)."""
        started = time.monotonic()
        report = RunReport(definition_id, "", uuid.uuid4().hex, slot)
        run = AuditRecord(
            action=f"SCHEDULED /event/{definition_id}",
            request_id=report.request_id,
            startdate=utcnow(),
            node=self.ports.settings.node_name,
            administrator=SCHEDULER.username,
        )
        definition = None
        try:
            definition = self._load(definition_id)
            report.name = definition.name
            run.action_detail = json.dumps(
                {
                    "schedule": definition.schedule,
                    "sweep": definition.sweep,
                    "slot": slot.isoformat() if slot is not None else "forced",
                }
            )
            if guarded and self._paused(definition, report, now):
                pass
            elif definition.sweep == "users":
                self._sweep_users(definition, run, report, now, progress)
            else:
                self._sweep_tokens(definition, run, report, now, progress)
        except DefinitionError as exc:
            report.stopped = f"the definition does not compile: {exc.message}"
        except Exception as exc:
            log.exception("scheduled run of definition %s failed", definition_id)
            report.stopped = f"interrupted ({type(exc).__name__})"
        run.info = report.summary() if definition is not None else report.stopped
        run.success = report.ok
        run.duration = time.monotonic() - started
        self.ports.audit.write(run)
        log.info("scheduled run of definition %s: %s", definition_id, run.info)
        return report

    # -- the blast-radius guard ----------------------------------------------------

    def _paused(self, definition: Definition, report: RunReport, now: datetime) -> bool:
        """Count what the run would act on; pause it (True) if that is too much."""
        max_subjects, max_share = guard.limits(definition, self.ports.settings)
        if not (max_subjects or max_share):
            return False
        swept, matched = self._would_act(definition, report.request_id, now)
        reason = guard.exceeded(matched, swept, max_subjects, max_share)
        if not reason:
            return False
        with transaction(self.ports.sessions, write=True) as session:
            report.paused = guard.pause(
                self.ports,
                session,
                definition,
                swept=swept,
                matched=matched,
                reason=reason,
                request_id=report.request_id,
                now=now,
            )
        report.swept = swept
        report.stopped = f"paused by the blast-radius guard (run {report.paused}): {reason}"
        return True

    def _would_act(self, definition: Definition, request_id: str, now: datetime) -> tuple[int, int]:
        """(subjects swept, subjects whose conditions hold), nothing acted on."""
        swept = matched = 0
        blank = AuditRecord(action="", request_id=request_id, startdate=utcnow())

        def count(session: Session, items: Sequence[SweepItem]) -> None:
            nonlocal swept, matched
            waiting = (
                self.workflows.running_subjects(session, definition) if definition.steps else set()
            )
            for item in items:
                swept += 1
                if waiting and subject_key(item) in waiting:
                    continue
                inv = invocation(definition.id, item, request_id)
                facts = item_facts(self.ports, session, inv, blank, item=item, now=now)
                if evaluate_definition(definition, facts).fires:
                    matched += 1

        with self.ports.sessions() as session:
            if definition.sweep == "users":
                found = list_users(self.ports.users, session)
                users = [resolve(self.ports.users, session, ref) for ref in found.users]
                count(session, [SweepItem(user=user) for user in users if user is not None])
            else:
                cursor = 0
                while tokens := token_batch(session, cursor, self.batch_size):
                    cursor = tokens[-1].id
                    count(session, [SweepItem(token=token) for token in tokens])
                    session.expunge_all()
        return swept, matched

    def _load(self, definition_id: int) -> Definition:
        with self.ports.sessions() as session:
            row = session.get(EventDefinition, definition_id)
            if row is None or not row.schedule:
                raise DefinitionError("the definition no longer exists or has no schedule")
            definition = self.ports.events.compile(row)
        if not definition.handler.schedulable:
            raise DefinitionError(f"{definition.handlermodule} cannot run on a schedule")
        return definition

    def _sweep_tokens(
        self,
        definition: Definition,
        run: AuditRecord,
        report: RunReport,
        now: datetime,
        progress: Progress | None,
    ) -> None:
        with self.ports.sessions() as session:
            total = count_tokens(session)
        cursor = 0
        while not self._stop(report):

            def work(session: Session, after: int = cursor) -> tuple[_Batch, int] | None:
                tokens = token_batch(session, after, self.batch_size)
                if not tokens:
                    return None
                last = tokens[-1].id  # before an action may delete the token
                items = [SweepItem(token=token) for token in tokens]
                batch = self._process(
                    session, definition, items, run, request_id=report.request_id, now=now
                )
                return batch, last

            done = self._in_transaction(work)
            if done is None:
                break
            batch, cursor = done
            if self._committed(batch, report, progress, total):
                break

    def _sweep_users(
        self,
        definition: Definition,
        run: AuditRecord,
        report: RunReport,
        now: datetime,
        progress: Progress | None,
    ) -> None:
        with self.ports.sessions() as session:
            found = list_users(self.ports.users, session)
        report.skipped = found.skipped
        refs: Sequence[UserRef] = found.users
        for start in range(0, len(refs), self.batch_size):
            if self._stop(report):
                break
            chunk = refs[start : start + self.batch_size]

            def work(session: Session, chunk: Sequence[UserRef] = chunk) -> _Batch:
                users = [resolve(self.ports.users, session, ref) for ref in chunk]
                items = [SweepItem(user=user) for user in users if user is not None]
                return self._process(
                    session, definition, items, run, request_id=report.request_id, now=now
                )

            if self._committed(self._in_transaction(work), report, progress, len(refs)):
                break

    def _process(
        self,
        session: Session,
        definition: Definition,
        items: list[SweepItem],
        run: AuditRecord,
        *,
        request_id: str,
        now: datetime,
    ) -> _Batch:
        """Evaluate and run the definition for each item of one batch."""
        batch = _Batch(0, [])
        # A subject whose workflow still runs is skipped: the definition's action is
        # the workflow's first step and is not repeated until the workflow ends.
        waiting = (
            self.workflows.running_subjects(session, definition) if definition.steps else set()
        )
        for item in items:
            if waiting and subject_key(item) in waiting:
                batch.swept += 1
                continue
            inv = invocation(definition.id, item, request_id)
            record = item_audit(run, item)
            facts = item_facts(self.ports, session, inv, record, item=item, now=now)
            batch.swept += 1
            try:
                self.dispatcher.run_definition(definition, facts, "post", record)
            except HandlerAbortError:
                batch.aborted = f"abort_on_error after the action for {item.label} failed"
            if definition.steps and record.children and record.children[-1].success:
                # The action ran for this subject: its follow-up steps start waiting.
                self.workflows.start(session, definition, item, request_id=request_id, now=now)
            note_resolved_user(facts, record)
            batch.entries.extend(record.children)
            if batch.aborted:
                break
        return batch

    def _committed(
        self, batch: _Batch, report: RunReport, progress: Progress | None, total: int
    ) -> bool:
        """Account for a committed batch and write its action entries; True if the
        run must stop here."""
        report.swept += batch.swept
        report.matched += len(batch.entries)
        report.failed += sum(1 for entry in batch.entries if not entry.success)
        if batch.entries:
            # One audit transaction for the batch's entries: the first carries the rest.
            first, *rest = batch.entries
            self.ports.audit.write(replace(first, children=rest))
        if progress is not None:
            progress(report.swept, max(total, report.swept))
        if batch.aborted:
            report.stopped = batch.aborted
            return True
        return False

    def _stop(self, report: RunReport) -> bool:
        if self.stopping():
            report.stopped = "the worker stopped"
            return True
        return False

    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        """One batch in one transaction, retried whole on a write conflict."""
        return retrying(self.ports.sessions, work, attempts=_CONFLICT_RETRIES, backoff=0.01)


__all__ = ["BATCH_SIZE", "CHECK_SECONDS", "Progress", "RunReport", "Scheduler"]
