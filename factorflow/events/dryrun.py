"""Dry run: evaluate definitions against a sample or a recorded request, change nothing.

The sample is an :class:`Invocation` (event, parameters, caller, client IP) plus,
for post definitions, a reply built from the given result. Conditions are only
*evaluated* (they read, never write) in a session that is rolled back; no action
runs. The answer lists, per definition and per condition, matched / not matched /
unknown with the reason, whether the definition would fire, and what its action
would act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from factorflow.audit.models import AuditEntry
from factorflow.audit.record import AuditRecord
from factorflow.core.invocation import Actor, ErrorReply, Invocation, Outcome, Reply
from factorflow.errors import ParameterError, ResourceNotFoundError
from factorflow.events.definition import Definition, from_row
from factorflow.events.evaluate import evaluate_definition
from factorflow.events.facts import Facts

if TYPE_CHECKING:
    from factorflow.bootstrap import Services


@dataclass
class Sample:
    event: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    user: str = ""
    realm: str = ""
    serial: str = ""
    #: ``{"status", "value", "authentication", "detail", "error"}``; None = no response.
    result: dict[str, Any] | None = None
    client_ip: str = ""
    user_agent: str = ""
    actor: Actor = field(default_factory=Actor)
    audit_serial: str = ""


def sample_from_audit(session: Session, services: Services, number: int) -> Sample:
    """Rebuild a sample from an audited request (its number in ``GET /audit/``)."""
    entry = session.get(AuditEntry, number)
    if entry is None:
        raise ResourceNotFoundError(f"There is no audit entry {number}.")
    event = services.events.rule_events.get(entry.action, "")
    if not event:
        raise ParameterError(f"Audit entry {number} ({entry.action!r}) is not a request")
    result: dict[str, Any] = {"status": entry.success or bool(entry.authentication)}
    if entry.authentication:
        result.update(value=entry.authentication == "ACCEPT", authentication=entry.authentication)
    elif entry.success:
        result["value"] = True
    actor = Actor(role="admin", username=entry.administrator) if entry.administrator else Actor()
    params = {k: v for k, v in (("user", entry.user), ("realm", entry.realm)) if v}
    return Sample(
        event=event,
        params=params,
        result=result,
        client_ip=entry.client,
        user_agent=entry.user_agent,
        actor=actor,
        audit_serial=entry.serial,
    )


def _reply(result: dict[str, Any] | None) -> Reply | None:
    if result is None:
        return None
    error = result.get("error")
    if isinstance(error, dict) or result.get("status") is False:
        err = error if isinstance(error, dict) else {}
        return Reply(
            error=ErrorReply(
                code=int(err.get("code", 10)),
                message=str(err.get("message", "")),
                status=400,
                detail=result.get("detail"),
            )
        )
    detail = result.get("detail")
    return Reply(
        outcome=Outcome(
            value=result.get("value"),
            detail=detail if isinstance(detail, dict) else {},
            authentication=result.get("authentication"),
        )
    )


def _invocation(sample: Sample) -> Invocation:
    params = dict(sample.params)
    for key in ("user", "realm", "serial"):
        value = getattr(sample, key)
        if value:
            params[key] = value
    return Invocation(
        event=sample.event,
        method="POST",
        rule="/event/test",
        params=params,
        client_ip=sample.client_ip,
        user_agent=sample.user_agent,
        actor=sample.actor,
    )


def definitions_for(
    services: Services, session: Session, *, definition_id: int | None, event: str
) -> list[Definition]:
    """The stored definition by id, or all active definitions bound to ``event``."""
    handlers = services.events.handlers
    if definition_id is not None:
        return [from_row(services.events.row(session, definition_id), handlers)]
    snapshot = services.events.cache.snapshot(session)
    return [*snapshot.index.get((event, "pre"), ()), *snapshot.index.get((event, "post"), ())]


def describe(definition: Definition, facts: Facts) -> dict[str, Any]:
    evaluation = evaluate_definition(definition, facts, full=True)
    action: dict[str, Any] = {
        "module": definition.handlermodule,
        "action": definition.action,
        "options": definition.redacted_options(),
    }
    if definition.handlermodule == "Token":
        action["tokens"] = [t.serial for t in facts.tokens] if facts.serials else []
    return {
        "id": definition.id,
        "name": definition.name,
        "position": definition.position,
        "unknown_is_match": definition.unknown_is_match,
        "condition_expression": definition.condition_expression,
        "verdict": evaluation.verdict,
        "fires": evaluation.fires,
        "conditions": [t.as_dict() for t in evaluation.trace],
        "action": action if evaluation.fires else None,
    }


def dry_run(
    services: Services, session: Session, definitions: list[Definition], sample: Sample
) -> dict[str, Any]:
    """Evaluate ``definitions`` against ``sample`` inside a SAVEPOINT that is rolled back
    (conditions only read; the rollback makes sure of it)."""
    inv = _invocation(sample)
    audit = AuditRecord.begin(inv, node=services.settings.node_name)
    audit.serial = sample.audit_serial
    results = []
    savepoint = session.begin_nested()
    try:
        for definition in definitions:
            # Pre definitions never see a response, post ones see the sample's.
            reply = _reply(sample.result) if definition.position == "post" else None
            facts = Facts(services, session, inv, audit, reply=reply)
            results.append(describe(definition, facts))
    finally:
        savepoint.rollback()
    return {"event": sample.event, "definitions": results}
