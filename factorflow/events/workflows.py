"""Workflows that wait: the follow-up steps of a scheduled definition, per subject.

* **Start.** When a scheduled run's action succeeded for a token or user and the
  definition has steps (:mod:`.steps`), :meth:`Workflows.start` adds an
  :class:`EventWorkflow` in the run's batch transaction — unless one is already
  running for that definition and subject (the unique ``running_key``): one running
  instance per definition + subject. Its first step is due ``delay`` after now.
* **Due steps** are run by every job worker's scheduler loop
  (:meth:`Workflows.run_due`). A step is claimed by a conditional UPDATE
  (``WHERE id = ? AND state = 'running' AND step = <read> AND due_at = <read>``) in
  the same transaction as the step's action and the workflow's advance: only the node
  whose UPDATE changed the row runs it (a second node's UPDATE waits for the first's
  row lock and then finds the new step, or SQLite serialises the writers), and the
  step is run and recorded together or not at all — a worker that stops midway
  leaves the step due, to run once on the next pass. No state lives in memory.
* **Running a step** is the request path's code again: the subject as it is now (a
  deleted token or user ends the workflow), :meth:`Dispatcher.run_definition` with
  the step's conditions and action. If the conditions no longer hold, the workflow
  ends (``ended``, "condition no longer holds") without acting; a failed action ends
  it as ``failed``; after the last step it is ``done``; otherwise the next step is due
  its delay after now.
* **Audit**: each step run writes one entry ``WORKFLOW /event/workflows/<id>`` (info
  ``workflow <id> step <n> of <m> (<definition>): <what happened>``) with the step's
  action entry under the same request id, its info prefixed ``workflow <id> step <n>``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from factorflow.audit.record import AuditRecord
from factorflow.db.base import retrying, utcnow
from factorflow.events import step_guard
from factorflow.events.definition import Definition
from factorflow.events.dispatcher import Dispatcher
from factorflow.events.errors import DefinitionError, HandlerAbortError
from factorflow.events.models import EventDefinition, EventWorkflow
from factorflow.events.steps import compile_step, parse_delay, step_delay
from factorflow.events.sweep import (
    SCHEDULER,
    SweepItem,
    UserRef,
    find_token,
    invocation,
    item_audit,
    item_facts,
    resolve,
)
from factorflow.events.workflow_state import STATES, describe, finish, held

if TYPE_CHECKING:
    from factorflow.events.ports import EventPorts

log = logging.getLogger(__name__)

#: Due steps read per pass.
DUE_BATCH = 500
_CONFLICT_RETRIES = 5
#: Why a workflow ended without acting because its step's conditions failed.
NO_LONGER_HOLDS = "condition no longer holds"


def subject_key(item: SweepItem) -> str:
    if item.token is not None:
        return f"token:{item.token.serial}"
    assert item.user is not None
    return f"user:{item.user.realm}/{item.user.resolver}/{item.user.uid}"


@dataclass
class StepReport:
    """What one step run did."""

    workflow_id: int
    step: int
    state: str = "running"
    info: str = ""
    entries: list[AuditRecord] = field(default_factory=list)


class Workflows:
    def __init__(
        self,
        ports: EventPorts,
        dispatcher: Dispatcher | None = None,
        *,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.ports = ports
        self.dispatcher = dispatcher or Dispatcher(ports)
        self.stopping = stopping

    # -- starting -------------------------------------------------------------------

    def start(
        self,
        session: Session,
        definition: Definition,
        item: SweepItem,
        *,
        request_id: str,
        now: datetime,
    ) -> int | None:
        """Start the definition's workflow for ``item`` in the caller's transaction;
        None if one is running already for that definition and subject."""
        if not definition.steps:
            return None
        key = f"{definition.id}:{subject_key(item)}"[:300]
        if session.scalar(select(EventWorkflow.id).where(EventWorkflow.running_key == key)):
            return None
        workflow = EventWorkflow(
            definition_id=definition.id,
            subject_kind="token" if item.token is not None else "user",
            state="running",
            step=0,
            due_at=now + parse_delay(str(definition.steps[0]["delay"])),
            running_key=key,
            reason="",
            request_id=request_id,
            created_at=now,
            updated_at=now,
        )
        if item.token is not None:
            workflow.serial = item.token.serial
        else:
            assert item.user is not None
            workflow.realm, workflow.resolver = item.user.realm, item.user.resolver
            workflow.user_uid = item.user.uid
        try:
            # A SAVEPOINT: a concurrent start (a forced run beside the scheduled one)
            # loses on the unique key without undoing the batch.
            with session.begin_nested():
                session.add(workflow)
                session.flush()
        except IntegrityError:
            return None
        return workflow.id

    @staticmethod
    def running_subjects(session: Session, definition: Definition) -> set[str]:
        """The subject keys with a running workflow of ``definition``."""
        prefix = f"{definition.id}:"
        keys = session.scalars(
            select(EventWorkflow.running_key).where(
                EventWorkflow.definition_id == definition.id, EventWorkflow.state == "running"
            )
        )
        return {key[len(prefix) :] for key in keys if key}

    # -- running due steps ----------------------------------------------------------

    def run_due(self, now: datetime | None = None) -> list[StepReport]:
        """Run every step that is due by ``now`` (each claimed first); the reports of
        the steps this node ran."""
        now = now or utcnow()
        with self.ports.sessions() as session:
            rows = session.execute(
                select(
                    EventWorkflow.id,
                    EventWorkflow.step,
                    EventWorkflow.due_at,
                    EventWorkflow.definition_id,
                )
                .where(EventWorkflow.state == "running", EventWorkflow.due_at <= now, ~held())
                .order_by(EventWorkflow.due_at, EventWorkflow.id)
                .limit(DUE_BATCH)
            ).all()
        # Too many steps of one definition at once: the batch waits for an admin.
        paused = step_guard.hold_batches(self, [(r[0], r[1], r[2], r[3]) for r in rows], now)
        reports = []
        for workflow_id, step, due, _ in rows:
            if self.stopping():
                break
            if workflow_id in paused:
                continue
            assert due is not None  # the query asked for due_at <= now
            report = self.run_step(workflow_id, step, due, now)
            if report is not None:
                reports.append(report)
        return reports

    def run_held(self, run_id: int, now: datetime) -> str:
        """Run the steps a confirmed paused run held (``run_id``, claimed as running),
        once, without the guard; the summary."""
        with self.ports.sessions() as session:
            rows = session.execute(
                select(EventWorkflow.id, EventWorkflow.step, EventWorkflow.due_at)
                .where(EventWorkflow.held_by == run_id, EventWorkflow.state == "running")
                .order_by(EventWorkflow.id)
            ).all()
        states: dict[str, int] = {}
        for workflow_id, step, due in rows:
            if self.stopping():
                break
            if due is None:
                continue
            report = self.run_step(workflow_id, step, due, now, held_by=run_id)
            if report is not None:
                states[report.state] = states.get(report.state, 0) + 1
        ran = sum(states.values())
        detail = ", ".join(f"{state} {n}" for state, n in sorted(states.items()))
        return f"ran {ran} of {len(rows)} held steps" + (f" ({detail})" if detail else "")

    def run_step(
        self,
        workflow_id: int,
        step: int,
        due: datetime,
        now: datetime,
        *,
        held_by: int | None = None,
    ) -> StepReport | None:
        """Claim and run step ``step`` of the workflow, due at ``due``; None if another
        node has it (or it is no longer due, or a paused run holds it). ``held_by``: the
        confirmed paused run that held it; its claimant runs it."""
        started = time.monotonic()
        request_id = uuid.uuid4().hex
        run = AuditRecord(
            action=f"WORKFLOW /event/workflows/{workflow_id}",
            request_id=request_id,
            startdate=utcnow(),
            node=self.ports.settings.node_name,
            administrator=SCHEDULER.username,
        )

        def work(session: Session) -> StepReport | None:
            claimed = session.execute(
                update(EventWorkflow)
                .where(
                    EventWorkflow.id == workflow_id,
                    EventWorkflow.state == "running",
                    EventWorkflow.step == step,
                    EventWorkflow.due_at == due,
                    ~held() if held_by is None else EventWorkflow.held_by == held_by,
                )
                .values(step=step + 1, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            assert isinstance(claimed, CursorResult)
            if claimed.rowcount != 1:
                return None
            workflow = session.get(EventWorkflow, workflow_id)
            assert workflow is not None
            session.refresh(workflow)
            return self._step(session, workflow, step, run, now)

        try:
            report = retrying(self.ports.sessions, work, attempts=_CONFLICT_RETRIES, backoff=0.01)
        except Exception as exc:
            log.exception("workflow %s step %s failed", workflow_id, step + 1)
            run.info = f"workflow {workflow_id} step {step + 1}: interrupted ({type(exc).__name__})"
            run.success = False
            run.duration = time.monotonic() - started
            self.ports.audit.write(run)
            return None
        if report is None:
            return None
        run.info = report.info
        run.success = report.state in ("running", "done", "ended")
        run.duration = time.monotonic() - started
        run.children = report.entries
        self.ports.audit.write(run)
        log.info("%s", report.info)
        return report

    def _step(
        self, session: Session, workflow: EventWorkflow, index: int, run: AuditRecord, now: datetime
    ) -> StepReport:
        report = StepReport(workflow.id, index + 1)
        parent = session.get(EventDefinition, workflow.definition_id)
        total = len(parent.steps or []) if parent is not None else 0
        where = f"workflow {workflow.id} step {index + 1} of {total}"
        if parent is None or index >= total:
            return self._end(workflow, report, "ended", where, "the definition or step is gone")
        where += f" ({parent.name})"
        if not parent.active:
            return self._end(workflow, report, "ended", where, "the definition is disabled")
        try:
            definition = compile_step(
                parent, index, self.ports.events.handlers, self.ports.events.conditions
            )
        except DefinitionError as exc:
            return self._end(workflow, report, "failed", where, f"does not compile: {exc.message}")
        item = self.subject(session, workflow)
        if item is None:
            return self._end(
                workflow, report, "ended", where, f"the {workflow.subject_kind} is gone"
            )
        run.request_id = run.request_id or uuid.uuid4().hex
        inv = invocation(parent.id, item, run.request_id)
        record = item_audit(run, item)
        facts = item_facts(self.ports, session, inv, record, item=item, now=now)
        aborted = False
        try:
            self.dispatcher.run_definition(definition, facts, "post", record)
        except HandlerAbortError:
            aborted = True
        for child in record.children:
            child.info = f"workflow {workflow.id} step {index + 1}: {child.info}"
        report.entries = record.children
        run.serial, run.token_type = record.serial, record.token_type
        run.user, run.realm, run.resolver = record.user, record.realm, record.resolver
        if not record.children:
            return self._end(workflow, report, "ended", where, NO_LONGER_HOLDS)
        if aborted or not record.children[-1].success:
            return self._end(workflow, report, "failed", where, "the action failed")
        if index + 1 >= total:
            return self._end(workflow, report, "done", where, "the last step ran")
        workflow.due_at = now + step_delay(parent, index + 1)
        workflow.updated_at = now
        report.info = f"{where}: ran; step {index + 2} due {workflow.due_at.isoformat()}"
        return report

    @staticmethod
    def _end(
        workflow: EventWorkflow, report: StepReport, state: str, where: str, reason: str
    ) -> StepReport:
        finish(workflow, state, reason)
        report.state = state
        report.info = f"{where}: {state}, {reason}"
        return report

    def subject(self, session: Session, workflow: EventWorkflow) -> SweepItem | None:
        """The workflow's token or user as it is now; None if gone."""
        if workflow.subject_kind == "token":
            token = find_token(session, workflow.serial)
            return SweepItem(token=token) if token is not None else None
        ref = UserRef(workflow.realm, workflow.resolver, workflow.user_uid)
        user = resolve(self.ports.users, session, ref)
        return SweepItem(user=user) if user is not None else None


__all__ = ["NO_LONGER_HOLDS", "STATES", "StepReport", "Workflows", "describe", "subject_key"]
