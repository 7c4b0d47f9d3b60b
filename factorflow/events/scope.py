"""What a realm-limited administrator may see and decide of workflows and paused runs.

Event definitions are configuration, not in a realm (privacyIDEA checks
``eventhandling_read`` / ``eventhandling_write`` without one). What a workflow or a
paused run *acts on* is: a workflow's subject is a token or a user, and an admin
whose policies grant the right in some realms only (``admin_realms``) sees and
decides only those whose subjects it could touch by the API itself:

* **a token** as in the authorization matrix (``docs/security.md``): owned by a user
  of one of the realms, a spare token in one of them, or in no realm; a token that no
  longer exists is in no admin's realms (an unrestricted admin still sees it);
* **a user** of one of the realms (the realm the workflow was swept in);
* **a paused scheduled run** acts on the whole sweep, every realm: only unrestricted
  admins see and decide it;
* **a paused batch of workflow steps**: when every workflow it held is the admin's.

Refusals are privacyIDEA's 403 (code 303); listings are narrowed instead.
"""

from __future__ import annotations

from collections.abc import Set

from sqlalchemy import ColumnElement, and_, exists, func, or_, select

from factorflow.errors import PolicyError
from factorflow.events.models import EventPausedRun, EventWorkflow
from factorflow.tokens.listing import manageable_in
from factorflow.tokens.models import Token


def workflow_in(realms: Set[str]) -> ColumnElement[bool]:
    """Workflows whose subject an admin limited to ``realms`` (lower case) may touch."""
    token = exists(
        select(Token.id).where(Token.serial == EventWorkflow.serial, manageable_in(realms))
    )
    user = func.lower(EventWorkflow.realm).in_(sorted(realms))
    return or_(
        and_(EventWorkflow.subject_kind == "token", token),
        and_(EventWorkflow.subject_kind == "user", user),
    )


def paused_in(realms: Set[str]) -> ColumnElement[bool]:
    """Paused runs an admin limited to ``realms`` may see and decide: batches of steps
    whose every held workflow is in them."""
    held = select(EventWorkflow.id).where(EventWorkflow.held_by == EventPausedRun.id)
    return and_(
        EventPausedRun.step.is_not(None),
        exists(held),
        ~exists(held.where(~workflow_in(realms))),
    )


def refuse(right: str) -> PolicyError:
    """privacyIDEA's answer to an admin without the right on the object."""
    return PolicyError(f"Admin actions are defined, but the action {right} is not allowed!")


__all__ = ["paused_in", "refuse", "workflow_in"]
