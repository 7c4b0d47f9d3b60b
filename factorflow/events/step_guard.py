"""The blast-radius guard for workflow steps that come due together.

A scheduled run that starts many workflows starts them at one moment, so their next
steps come due together, and a step that disables or deletes would then act on as
many subjects as the guarded run itself. Before a scheduler pass runs the steps it
found due, the steps of each definition and step index are counted as a batch: the
subjects whose step conditions hold now (the same evaluation, no action). If that
count is above the definition's limits (:func:`.guard.limits_of`: its own
``max_subjects`` / ``max_share``, else the system-wide ones) — the share of the
definition's sweep now, every token or every user, as for a run — the batch
**pauses**: an :class:`EventPausedRun` with ``step`` records it, each workflow of the
batch names it in ``held_by`` (its step then waits, :func:`.workflow_state.held`),
the admins are told as for a paused run, and one audit entry ``WORKFLOW
/event/<definition>`` says so.

Confirmed, the next pass on any node claims it (``running``) and runs the held steps
once, without the guard (:meth:`.workflows.Workflows.run_held`); each step re-checks
its conditions then, as always. Cancelled, the held workflows end as ``cancelled``.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.orm import Session

from factorflow.audit.record import AuditRecord
from factorflow.db.base import transaction, utcnow
from factorflow.events import guard
from factorflow.events.definition import Definition
from factorflow.events.errors import DefinitionError
from factorflow.events.evaluate import evaluate_definition
from factorflow.events.models import EventDefinition, EventWorkflow
from factorflow.events.steps import compile_step
from factorflow.events.sweep import (
    SCHEDULER,
    count_tokens,
    invocation,
    item_facts,
    list_users,
)

if TYPE_CHECKING:
    from factorflow.events.workflows import Workflows

#: (workflow id, step, due at, definition id) of a due step.
Due = tuple[int, int, datetime | None, int]


def hold_batches(workflows: Workflows, rows: Sequence[Due], now: datetime) -> set[int]:
    """Pause each batch of ``rows`` (one definition, one step) that is too big; the ids
    of the workflows held (not to run in this pass)."""
    batches: dict[tuple[int, int], list[Due]] = defaultdict(list)
    for row in rows:
        batches[(row[3], row[1])].append(row)
    held: set[int] = set()
    for (definition_id, step), batch in batches.items():
        if workflows.stopping():
            break
        if _pause(workflows, definition_id, step, batch, now):
            held |= {row[0] for row in batch}
    return held


def _pause(
    workflows: Workflows, definition_id: int, step: int, batch: list[Due], now: datetime
) -> bool:
    ports = workflows.ports
    started = time.monotonic()
    with ports.sessions() as session:
        parent = session.get(EventDefinition, definition_id)
        if parent is None or not parent.active or step >= len(parent.steps or []):
            return False  # the step run itself ends these workflows
        max_subjects, max_share = guard.limits_of(
            parent.max_subjects or 0, parent.max_share or 0, ports.settings
        )
        if not max_share and (not max_subjects or len(batch) <= max_subjects):
            return False  # no limit, or the whole batch is within it
        try:
            definition = compile_step(parent, step, ports.events.handlers, ports.events.conditions)
        except DefinitionError:
            return False  # the step run records the failure
        request_id = uuid.uuid4().hex
        matched = _would_act(
            workflows, session, definition, batch=batch, request_id=request_id, now=now
        )
        swept = _population(workflows, session, parent.sweep)
    reason = guard.exceeded(matched, swept, max_subjects, max_share)
    if not reason:
        return False
    ids = [row[0] for row in batch]
    with transaction(ports.sessions, write=True) as session:
        run_id = guard.pause(
            ports, session, definition, swept=swept, matched=matched, reason=reason,
            request_id=request_id, now=now, step=step,
        )  # fmt: skip
        session.execute(
            update(EventWorkflow)
            .where(
                EventWorkflow.id.in_(ids),
                EventWorkflow.state == "running",
                EventWorkflow.step == step,
            )
            .values(held_by=run_id)
            .execution_options(synchronize_session=False)
        )
    where = f"{parent.name}: step {step + 1} of {len(parent.steps or [])}"
    ports.audit.write(
        AuditRecord(
            action=f"WORKFLOW /event/{definition_id}",
            request_id=request_id,
            startdate=utcnow(),
            node=ports.settings.node_name,
            administrator=SCHEDULER.username,
            info=(
                f"{where}, {len(batch)} due; stopped: paused by the blast-radius guard "
                f"(run {run_id}): {reason}"
            ),
            success=True,  # nothing failed: it waits for an admin
            duration=time.monotonic() - started,
        )
    )
    return True


def _would_act(
    workflows: Workflows,
    session: Session,
    definition: Definition,
    *,
    batch: list[Due],
    request_id: str,
    now: datetime,
) -> int:
    """How many workflows of the batch would act: the subject exists and the step's
    conditions hold for it now (nothing is run)."""
    ports = workflows.ports
    matched = 0
    blank = AuditRecord(action="", request_id=request_id, startdate=utcnow())
    for workflow_id, step, _, _ in batch:
        workflow = session.get(EventWorkflow, workflow_id)
        if workflow is None or workflow.state != "running" or workflow.step != step:
            continue
        item = workflows.subject(session, workflow)
        if item is None:
            continue
        inv = invocation(definition.id, item, request_id)
        facts = item_facts(ports, session, inv, blank, item=item, now=now)
        if evaluate_definition(definition, facts).fires:
            matched += 1
    return matched


def _population(workflows: Workflows, session: Session, sweep: str) -> int:
    """The subjects of the definition's sweep now, as a run would sweep them."""
    if sweep == "users":
        return len(list_users(workflows.ports.users, session).users)
    return count_tokens(session)


__all__ = ["hold_batches"]
