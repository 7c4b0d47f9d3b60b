"""The blast-radius guard: a scheduled run that would act on too many subjects pauses.

Before a guarded run acts, the scheduler counts the subjects whose conditions hold
(the same evaluation, no action). If that count is above the definition's
``max_subjects``, or above ``max_share`` percent of the subjects swept — or, for a
definition without limits of its own, the system-wide ``guard_max_subjects`` /
``guard_max_share`` settings — **nothing is acted on**: the run is recorded as an
:class:`EventPausedRun` (``paused``, with the counts), its summary audit entry says so,
and the admin address ``guard_admin_email`` is mailed through the durable queue.

An admin then **confirms** (``confirmed``: the next scheduler pass on any node claims
it with a conditional UPDATE to ``running``, runs the definition once as planned,
without the guard, and records ``done`` with the run's summary) or **cancels** it.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from factorflow.db.base import utcnow
from factorflow.errors import ParameterError, ResourceNotFoundError
from factorflow.events.definition import Definition
from factorflow.events.models import EventDefinition, EventPausedRun, EventWorkflow
from factorflow.events.scope import paused_in, refuse

if TYPE_CHECKING:
    from factorflow.events.ports import EventPorts
    from factorflow.settings import Settings

STATES = ("paused", "confirmed", "running", "done", "cancelled")


def limits(definition: Definition, settings: Settings) -> tuple[int, int]:
    """(max subjects, max share in percent) for ``definition``; 0 means no limit."""
    return limits_of(definition.max_subjects, definition.max_share, settings)


def limits_of(max_subjects: int, max_share: int, settings: Settings) -> tuple[int, int]:
    """A definition's own limits, else the system-wide ones."""
    if max_subjects or max_share:
        return max_subjects, max_share
    return settings.guard_max_subjects, settings.guard_max_share


def exceeded(matched: int, swept: int, max_subjects: int, max_share: int) -> str:
    """Why a run acting on ``matched`` of ``swept`` subjects must pause ("" if not)."""
    if max_subjects and matched > max_subjects:
        return f"would act on {matched} of {swept}, more than max_subjects {max_subjects}"
    if max_share and swept and matched * 100 > max_share * swept:
        share = matched * 100 // swept
        return f"would act on {matched} of {swept} ({share} %), more than max_share {max_share} %"
    return ""


def pause(
    ports: EventPorts,
    session: Session,
    definition: Definition,
    *,
    swept: int,
    matched: int,
    reason: str,
    request_id: str,
    now: datetime,
    step: int | None = None,
) -> int:
    """Record the paused run (``step``: of a batch of that step, 0-based) and tell the
    admins; its id."""
    what = "scheduled run" if step is None else f"step {step + 1} of the workflows"
    row = EventPausedRun(
        step=step,
        definition_id=definition.id,
        state="paused",
        swept=swept,
        matched=matched,
        reason=reason,
        request_id=request_id,
        created_at=now,
        decided_by="",
        outcome="",
    )
    session.add(row)
    session.flush()
    settings = ports.settings
    if settings.guard_admin_email and settings.guard_smtp_server:
        ports.actions.jobs.enqueue(
            session,
            kind="email",
            payload={
                "smtp": settings.guard_smtp_server,
                "to": [settings.guard_admin_email],
                "subject": f"Factorflow paused the {what} of {definition.name!r}",
                "body": (
                    f"The {what} of the scheduled definition {definition.name!r} "
                    f"(id {definition.id}) {reason}. Nothing was done. Confirm it (POST "
                    f"/event/paused/{row.id}/confirm) or cancel it (DELETE "
                    f"/event/paused/{row.id}), or in the web UI under Event definitions."
                ),
            },
            idempotency_key=f"guard:{request_id}:{row.id}",
            request_id=request_id,
            definition=definition.name,
        )
    return row.id


def claim_confirmed(ports: EventPorts) -> list[tuple[int, int, int | None]]:
    """(paused run id, definition id, step or None) of the confirmed runs this node
    claimed."""
    with ports.sessions() as session:
        rows = session.execute(
            select(EventPausedRun.id, EventPausedRun.definition_id, EventPausedRun.step)
            .where(EventPausedRun.state == "confirmed")
            .order_by(EventPausedRun.id)
        ).all()
    won = []
    for run_id, definition_id, step in rows:
        with ports.sessions.begin() as session:
            result = session.execute(
                update(EventPausedRun)
                .where(EventPausedRun.id == run_id, EventPausedRun.state == "confirmed")
                .values(state="running")
                .execution_options(synchronize_session=False)
            )
            assert isinstance(result, CursorResult)
            if result.rowcount == 1:
                won.append((run_id, definition_id, step))
    return won


def finished(ports: EventPorts, run_id: int, outcome: str) -> None:
    with ports.sessions.begin() as session:
        session.execute(
            update(EventPausedRun)
            .where(EventPausedRun.id == run_id)
            .values(state="done", outcome=outcome[:10000])
            .execution_options(synchronize_session=False)
        )


def decide(
    session: Session, run_id: int, who: str, *, confirm: bool, realms: Set[str] | None = None
) -> dict[str, Any]:
    """Confirm (run once, as planned) or cancel a paused run; an admin limited to
    ``realms`` only a batch of steps of theirs (:mod:`.scope`)."""
    row = session.get(EventPausedRun, run_id)
    if row is None:
        raise ResourceNotFoundError(f"The paused run with id {run_id} does not exist.")
    if realms is not None and not session.scalar(
        select(EventPausedRun.id).where(EventPausedRun.id == run_id, paused_in(realms))
    ):
        raise refuse("eventhandling_write")
    if row.state != "paused":
        raise ParameterError(f"The run {run_id} is not paused ({row.state}).")
    row.state = "confirmed" if confirm else "cancelled"
    row.decided_by, row.decided_at = who, utcnow()
    if not confirm and row.step is not None:
        # A cancelled batch of steps: its workflows end here (there is no next slot).
        session.execute(
            update(EventWorkflow)
            .where(EventWorkflow.held_by == run_id, EventWorkflow.state == "running")
            .values(
                state="cancelled",
                reason=f"cancelled by {who} (paused run {run_id})",
                running_key=None,
                due_at=None,
                updated_at=row.decided_at,
            )
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return describe(row, session.get(EventDefinition, row.definition_id))


def listing(
    session: Session, *, state: str = "", realms: Set[str] | None = None
) -> list[dict[str, Any]]:
    """The paused runs, newest first (at most 1,000); ``realms``: those an admin
    limited to them may decide (:mod:`.scope`)."""
    query = select(EventPausedRun).order_by(EventPausedRun.id.desc()).limit(1000)
    if realms is not None:
        query = query.where(paused_in(realms))
    if state:
        query = query.where(EventPausedRun.state == state)
    rows = list(session.scalars(query))
    ids = {r.definition_id for r in rows}
    names = dict(
        session.execute(
            select(EventDefinition.id, EventDefinition.name).where(EventDefinition.id.in_(ids))
        ).all()
    )
    return [_describe(r, names.get(r.definition_id, "")) for r in rows]


def describe(row: EventPausedRun, parent: EventDefinition | None) -> dict[str, Any]:
    return _describe(row, parent.name if parent is not None else "")


def _describe(row: EventPausedRun, name: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "definition_id": row.definition_id,
        "definition": name,
        # None: a scheduled run; n: a batch of workflow steps n (1-based) held back.
        "step": row.step + 1 if row.step is not None else None,
        "state": row.state,
        "swept": row.swept,
        "matched": row.matched,
        "reason": row.reason,
        "request_id": row.request_id,
        "created_at": _iso(row.created_at),
        "decided_by": row.decided_by,
        "decided_at": _iso(row.decided_at),
        "outcome": row.outcome,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


__all__ = [
    "STATES",
    "claim_confirmed",
    "decide",
    "exceeded",
    "finished",
    "limits",
    "limits_of",
    "listing",
]
