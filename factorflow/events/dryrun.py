"""Dry run: evaluate definitions against a sample or a recorded request, change nothing.

The sample is an :class:`Invocation` (event, parameters, caller, client IP) plus,
for post definitions, a reply built from the given result. Conditions are only
*evaluated* (they read, never write) in a session that is rolled back; no action
runs. The answer lists, per definition and per condition, matched / not matched /
unknown with the reason, whether the definition would fire, and what its action
would act on.

A scheduled definition has no request: it is evaluated against a sample of its sweep,
the token given by ``serial`` (tokens sweep) or the user given by ``user`` / ``realm``
(users sweep), else the first ``limit`` tokens or users of the sweep, each exactly as a
scheduled run would build it (:mod:`factorflow.events.sweep`). The answer says, per
item, which conditions matched and what the action would do, and how many items of
the sample would fire.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from factorflow.audit.models import AuditEntry
from factorflow.audit.record import AuditRecord
from factorflow.core.invocation import Actor, ErrorReply, Invocation, Outcome, Reply
from factorflow.errors import FactorflowError, ParameterError, ResourceNotFoundError
from factorflow.events.definition import Definition
from factorflow.events.evaluate import evaluate_definition
from factorflow.events.facts import Facts
from factorflow.events.sweep import (
    SweepItem,
    find_token,
    invocation,
    item_facts,
    list_users,
    resolve,
    token_batch,
)

if TYPE_CHECKING:
    from factorflow.events.ports import EventPorts


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
    #: How many tokens or users of its sweep a scheduled definition is tried on.
    limit: int = 10


class AuditedRequest(Protocol):
    """The audit columns a replay reads (an :class:`AuditEntry` or a selected row)."""

    success: bool
    authentication: str
    serial: str
    user: str
    realm: str
    administrator: str
    client: str
    user_agent: str
    info: str


def sample_from_audit(session: Session, ports: EventPorts, number: int) -> Sample:
    """Rebuild a sample from an audited request (its number in ``GET /audit/``)."""
    entry = session.get(AuditEntry, number)
    if entry is None:
        raise ResourceNotFoundError(f"There is no audit entry {number}.")
    event = ports.events.rule_events.get(entry.action, "")
    if not event:
        raise ParameterError(f"Audit entry {number} ({entry.action!r}) is not a request")
    return sample_from_entry(entry, event)


def sample_from_entry(entry: AuditedRequest, event: str) -> Sample:
    """The sample an audited request of ``event`` replays as (dry runs, backtests).

    The audit's ``info`` is what the answer said: an authentication's
    ``detail.message`` ("wrong otp value"), a refused request's error message. A
    successful request's ``info`` is a note of its own, not its ``detail.message``,
    so that replay has none (a ``detail_message`` condition is unknown there)."""
    result: dict[str, Any] = {"status": entry.success or bool(entry.authentication)}
    if entry.authentication:
        result.update(value=entry.authentication == "ACCEPT", authentication=entry.authentication)
        if entry.info:
            result["detail"] = {"message": entry.info}
    elif entry.success:
        result["value"] = True
    elif entry.info:
        result["error"] = {"message": entry.info}
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


def reply_of(result: dict[str, Any] | None) -> Reply | None:
    """The reply a sample's ``result`` stands for; None: no response (pre position)."""
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


def invocation_of(sample: Sample) -> Invocation:
    """The request a sample stands for."""
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
    ports: EventPorts, session: Session, *, definition_id: int | None, event: str
) -> list[Definition]:
    """The stored definition by id, or all active definitions bound to ``event``."""
    if definition_id is not None:
        return [ports.events.compile(ports.events.row(session, definition_id))]
    snapshot = ports.events.cache.snapshot(session)
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
        "context": facts.explain_context(),
        "action": action if evaluation.fires else None,
    }


def dry_run(
    ports: EventPorts, session: Session, definitions: list[Definition], sample: Sample
) -> dict[str, Any]:
    """Evaluate ``definitions`` against ``sample`` inside a SAVEPOINT that is rolled back
    (conditions only read; the rollback makes sure of it)."""
    inv = invocation_of(sample)
    audit = AuditRecord.begin(inv, node=ports.settings.node_name)
    audit.serial = sample.audit_serial
    results = []
    savepoint = session.begin_nested()
    try:
        for definition in definitions:
            if definition.scheduled:
                results.append(_describe_scheduled(ports, session, definition, sample))
                continue
            # Pre definitions never see a response, post ones see the sample's.
            reply = reply_of(sample.result) if definition.position == "post" else None
            facts = ports.facts(session, inv, audit, reply=reply)
            results.append(describe(definition, facts))
    finally:
        savepoint.rollback()
    return {"event": sample.event, "definitions": results}


def _sweep_sample(
    ports: EventPorts, session: Session, definition: Definition, sample: Sample
) -> list[SweepItem]:
    if definition.sweep == "users":
        if sample.user:
            try:
                user = ports.users.resolve(session, sample.user, sample.realm)
            except FactorflowError as exc:
                raise ParameterError(
                    f"No user {sample.user!r} to test with: {exc.message}"
                ) from None
            return [SweepItem(user=user)]
        found = list_users(ports.users, session)
        users = (resolve(ports.users, session, ref) for ref in found.users[: sample.limit])
        return [SweepItem(user=user) for user in users if user is not None]
    if sample.serial:
        token = find_token(session, sample.serial)
        if token is None:
            raise ParameterError(f"No token {sample.serial!r} to test with")
        return [SweepItem(token=token)]
    return [SweepItem(token=token) for token in token_batch(session, 0, sample.limit)]


def _describe_scheduled(
    ports: EventPorts, session: Session, definition: Definition, sample: Sample
) -> dict[str, Any]:
    """A scheduled definition tried on a sample of its sweep, as a run would."""
    request_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    items = []
    for item in _sweep_sample(ports, session, definition, sample):
        inv = invocation(definition.id, item, request_id)
        record = AuditRecord.begin(inv, node=ports.settings.node_name)
        facts = item_facts(ports, session, inv, record, item=item, now=now)
        result = describe(definition, facts)
        if result["action"] is not None and facts.user is not None:
            # Whom the action would concern (a token's owner: the mail recipient).
            result["action"]["user"] = f"{facts.user.login}@{facts.user.realm}"
        items.append({**item.describe(), **result})
    return {
        "id": definition.id,
        "name": definition.name,
        "schedule": definition.schedule,
        "sweep": definition.sweep,
        "unknown_is_match": definition.unknown_is_match,
        "condition_expression": definition.condition_expression,
        "evaluated": len(items),
        "would_fire": sum(1 for item in items if item["fires"]),
        "items": items,
    }
