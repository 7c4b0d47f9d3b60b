"""The state of workflow instances as administrators see it: listing, cancelling,
their description, and whether a paused run holds a step back (:mod:`.step_guard`).
Running steps is :mod:`.workflows`'."""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from factorflow.db.base import utcnow
from factorflow.errors import ParameterError, ResourceNotFoundError
from factorflow.events.models import EventDefinition, EventPausedRun, EventWorkflow
from factorflow.events.scope import refuse, workflow_in

STATES = ("running", "done", "ended", "failed", "cancelled")


def listing(
    session: Session,
    *,
    state: str = "",
    definition_id: int | None = None,
    realms: Set[str] | None = None,
) -> list[dict[str, Any]]:
    """The workflows, newest first (at most 1,000), as ``GET /event/workflows``
    answers them; ``realms``: those of an admin limited to them (:mod:`.scope`)."""
    query = select(EventWorkflow).order_by(EventWorkflow.id.desc()).limit(1000)
    if realms is not None:
        query = query.where(workflow_in(realms))
    if state:
        query = query.where(EventWorkflow.state == state)
    if definition_id is not None:
        query = query.where(EventWorkflow.definition_id == definition_id)
    workflows = list(session.scalars(query))
    ids = {w.definition_id for w in workflows}
    parents = {
        row.id: row
        for row in session.scalars(select(EventDefinition).where(EventDefinition.id.in_(ids)))
    }
    return [describe(w, parents.get(w.definition_id)) for w in workflows]


def cancel(
    session: Session, workflow_id: int, who: str, *, realms: Set[str] | None = None
) -> dict[str, Any]:
    """Cancel a running workflow; an admin limited to ``realms`` only one of theirs."""
    workflow = session.get(EventWorkflow, workflow_id)
    if workflow is None:
        raise ResourceNotFoundError(f"The workflow with id {workflow_id} does not exist.")
    if realms is not None and not session.scalar(
        select(EventWorkflow.id).where(EventWorkflow.id == workflow_id, workflow_in(realms))
    ):
        raise refuse("eventhandling_write")
    if workflow.state != "running":
        raise ParameterError(f"The workflow {workflow_id} is not running ({workflow.state}).")
    finish(workflow, "cancelled", f"cancelled by {who}")
    session.flush()
    parent = session.get(EventDefinition, workflow.definition_id)
    return describe(workflow, parent)


#: States of a paused run that hold its workflows' steps back.
HOLDING = ("paused", "confirmed", "running")


def held() -> ColumnElement[bool]:
    """Workflows whose step a paused run holds back (:mod:`.step_guard`)."""
    return exists(
        select(EventPausedRun.id).where(
            EventPausedRun.id == EventWorkflow.held_by, EventPausedRun.state.in_(HOLDING)
        )
    )


def finish(workflow: EventWorkflow, state: str, reason: str) -> None:
    workflow.state = state
    workflow.reason = reason
    workflow.running_key = None
    workflow.due_at = None
    workflow.updated_at = utcnow()


def describe(workflow: EventWorkflow, parent: EventDefinition | None) -> dict[str, Any]:
    steps = list(parent.steps or []) if parent is not None else []
    subject: dict[str, str] = (
        {"kind": "token", "serial": workflow.serial}
        if workflow.subject_kind == "token"
        else {
            "kind": "user",
            "realm": workflow.realm,
            "resolver": workflow.resolver,
            "uid": workflow.user_uid,
        }
    )
    upcoming = (
        steps[workflow.step] if workflow.state == "running" and workflow.step < len(steps) else None
    )
    return {
        "id": workflow.id,
        "definition_id": workflow.definition_id,
        "definition": parent.name if parent is not None else "",
        "subject": subject,
        "state": workflow.state,
        # 1-based: the step that runs next (while running) or the last one reached.
        "step": workflow.step + 1 if upcoming is not None else workflow.step,
        "steps": len(steps),
        "next_step": (
            {
                "handlermodule": upcoming["handlermodule"],
                "action": upcoming["action"],
                "delay": upcoming["delay"],
                "conditions": dict(upcoming.get("conditions") or {}),
            }
            if upcoming is not None
            else None
        ),
        "due_at": _iso(workflow.due_at),
        "reason": workflow.reason,
        # The paused run that held a step of it back (the last one), see /event/paused.
        "paused_run": workflow.held_by,
        "created_at": _iso(workflow.created_at),
        "updated_at": _iso(workflow.updated_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


__all__ = ["HOLDING", "STATES", "cancel", "describe", "finish", "held", "listing"]
