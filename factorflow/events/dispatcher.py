"""The event framework's hook into the request pipeline.

For the request's event and position, the cached definitions run in (ordering,
id) order against one shared :class:`Facts`. A definition whose conditions hold
runs its action inside a SAVEPOINT of the request's transaction: a failing
action leaves no partial writes, is audited with success=false and
``info = "<name> (<ExceptionClass>)"``, and the request goes on — unless the
definition says abort_on_error (or the action raised HandlerAbortError), then the
request fails with HandlerAbortError (903, HTTP 400). Each run is one child audit
entry: ``PRE-EVENT <event>>><module>:<action>`` / ``POST-EVENT ...``, info = the
definition's name, action_detail = its options with secrets redacted, trace = the
condition results. Actions never emit events. The scheduler runs scheduled
definitions through the same :meth:`Dispatcher.run_definition`, once per swept token
or user.

Chained actions (a definition's ``chain_events``): the requests its action performed
(:meth:`ActionContext.performed_request`, e.g. Token ``disable``: ``token_disable``)
run their event's pre definitions (seeing the request's parameters) and post
definitions (seeing its result) as if the request had been made, in the parent
action's SAVEPOINT: a chained definition that aborts fails the parent action (its
own ``abort_on_error`` then decides about the request). The chain is the definition
ids from the request's definition down; a chained run's audit info ends with
``[chain 4>7, depth 1]``. A definition already in the chain, or a request performed
at the depth limit (``event_chain_depth``), does not run: one ``CHAIN-STOP`` entry
(success true, info ``... (chain stopped: loop|depth limit ...)``) records it, and the
request goes on.

Metrics (:mod:`factorflow.events.metrics`): each evaluation counts evaluated and
matched or skipped, each action run ok or failed with its run time. Requests are
counted here too, by event and status, when the reply is final: at the end of
``run_post`` (the pipeline calls it once per request, also for failed ones), or
when a post definition aborts the request.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from factorflow.audit.record import AuditRecord
from factorflow.core.invocation import Invocation, Reply
from factorflow.db.base import is_retryable_conflict, utcnow
from factorflow.events.definition import Definition
from factorflow.events.errors import ActionError, HandlerAbortError
from factorflow.events.evaluate import Evaluation, evaluate_definition
from factorflow.events.facts import Facts
from factorflow.events.handlers.base import ActionContext, PerformedRequest, Position

if TYPE_CHECKING:
    from factorflow.events.ports import EventPorts

log = logging.getLogger(__name__)


class ChainAbortedError(ActionError):
    """A chained definition aborted the request its parent's action performed: the
    parent's action fails (as the request would have)."""


class Dispatcher:
    """Implements ``factorflow.pipeline.EventDispatcher``."""

    def __init__(self, ports: EventPorts) -> None:
        self.ports = ports
        self.metrics = ports.events.metrics

    def run_pre(self, inv: Invocation, session: Session, audit: AuditRecord) -> None:
        definitions = self.ports.events.cache.for_event(session, inv.event, "pre")
        if not definitions:
            return
        facts = self.ports.facts(session, inv, audit)
        for definition in definitions:
            self.run_definition(definition, facts, "pre", audit)

    def run_post(
        self, inv: Invocation, reply: Reply, session: Session, audit: AuditRecord
    ) -> Reply:
        definitions = self.ports.events.cache.for_event(session, inv.event, "post")
        facts: Facts | None = None
        if definitions:
            facts = self.ports.facts(session, inv, audit, reply=reply)
            try:
                for definition in definitions:
                    self.run_definition(definition, facts, "post", audit)
            except HandlerAbortError as exc:
                self._count_request(inv, exc.status, audit)
                raise
            assert facts.reply is not None
            reply = facts.reply
        if self.ports.streams is not None:
            # After the post definitions, in the request's transaction: the event says
            # what they did, and its jobs commit or roll back with the request.
            final = reply

            def stream_facts() -> Facts:
                return facts or self.ports.facts(session, inv, audit, reply=final)

            self.ports.streams.publish(session, inv, final, audit, stream_facts)
        self._count_request(inv, reply.status, audit)
        return reply

    def _count_request(self, inv: Invocation, status: int, audit: AuditRecord) -> None:
        seconds = (utcnow() - audit.startdate).total_seconds()
        self.metrics.request(inv.event, status, seconds)

    def run_definition(
        self,
        definition: Definition,
        facts: Facts,
        position: Position,
        audit: AuditRecord,
        chain: tuple[int, ...] = (),
    ) -> None:
        """Evaluate one definition against ``facts`` and, if it fires, run its action in
        a SAVEPOINT, appending the action's audit entry to ``audit.children`` and
        counting the metrics. The request path and the scheduler (one call per swept
        token or user) share it. Raises HandlerAbortError when the failed action must
        abort its unit of work, and re-raises a retryable write conflict. ``chain``: the
        definition ids of a chained run, from the request's definition down."""
        started = time.monotonic()
        evaluation = evaluate_definition(definition, facts)
        metrics = self.metrics.definition(definition.id, definition.name)
        metrics.evaluated.inc()
        if not evaluation.fires:
            metrics.skipped.inc()
            return
        metrics.matched.inc()
        child = child_record(audit, definition, position, facts.inv.event, evaluation)
        if chain:
            if definition.id in chain:
                self._stop(
                    audit,
                    child,
                    definition=definition,
                    why="loop",
                    chain=(*chain, definition.id),
                    started=started,
                )
                return
            child.info += f" [{chain_note(chain)}]"
        ctx = ActionContext(
            ports=self.ports.actions,
            session=facts.session,
            inv=facts.inv,
            facts=facts,
            definition_name=definition.name,
            position=position,
            definition_id=definition.id,
        )
        reply_before = facts.reply
        action_started = time.monotonic()
        try:
            with facts.session.begin_nested():
                definition.handler.run(ctx, definition.action, definition.options)
                if definition.chain_events and ctx.performed:
                    self._chain(ctx, audit, (*chain, definition.id))
        except Exception as exc:
            if isinstance(exc, OperationalError) and is_retryable_conflict(exc):
                raise  # the pipeline retries the whole unit of work
            metrics.seconds.observe(time.monotonic() - action_started)
            metrics.failed.inc()
            facts.reply = reply_before  # a failed post action does not change the reply
            facts.forget_tokens()
            child.success = False
            # run_details is the handler's own audit note (a script's exit status).
            note = f": {ctx.run_details}" if ctx.run_details else ""
            child.info = f"{definition.name} ({type(exc).__name__}{note})"
            if chain:
                child.info += f" [{chain_note(chain)}]"
            child.duration = time.monotonic() - started
            audit.children.append(child)
            log.warning(
                "event definition %r (%s:%s) failed: %s",
                definition.name,
                definition.handlermodule,
                definition.action,
                exc,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            if definition.abort_on_error or isinstance(exc, HandlerAbortError):
                raise HandlerAbortError(
                    f"The event definition {definition.name!r} failed ({type(exc).__name__})."
                ) from exc
            return
        metrics.seconds.observe(time.monotonic() - action_started)
        metrics.ok.inc()
        child.success = True
        if ctx.run_details:
            child.info = f"{definition.name} ({ctx.run_details})"
            if chain:
                child.info += f" [{chain_note(chain)}]"
        child.duration = time.monotonic() - started
        audit.children.append(child)

    def _chain(self, ctx: ActionContext, audit: AuditRecord, chain: tuple[int, ...]) -> None:
        """Run the definitions of each request ``ctx``'s action performed, pre (they
        see its parameters) then post (its result), as the request would have."""
        for performed in ctx.performed:
            definitions = [
                (position, definition)
                for position in ("pre", "post")
                for definition in self.ports.events.cache.for_event(
                    ctx.session, performed.event, position
                )
            ]
            if not definitions:
                continue
            inv = chained_invocation(ctx.inv, performed)
            entry = dataclasses.replace(
                audit, serial=str(performed.params.get("serial", "")), children=[]
            )
            login = performed.params.get("user") or performed.params.get("username")
            if login and not entry.user:  # a user's request (custom attributes)
                entry.user, entry.realm = str(login), str(performed.params.get("realm", ""))
            if len(chain) > self.ports.settings.event_chain_depth:
                parent = ctx.facts.inv.event
                stop = dataclasses.replace(
                    entry,
                    action=f"CHAIN-STOP {parent}>>{performed.event}",
                    startdate=utcnow(),
                    action_detail=json.dumps(performed.params, sort_keys=True),
                    trace="",
                    extra={},
                )
                self._stop(
                    audit,
                    stop,
                    definition=None,
                    why="depth limit",
                    chain=chain,
                    started=time.monotonic(),
                )
                continue
            pre = self.ports.facts(ctx.session, inv, entry)
            post: Facts | None = None
            try:
                for position, definition in definitions:
                    if position == "pre":
                        self.run_definition(definition, pre, "pre", entry, chain)
                        continue
                    if post is None:
                        reply = Reply(outcome=dataclasses.replace(performed.result))
                        post = self.ports.facts(ctx.session, inv, entry, reply=reply)
                    self.run_definition(definition, post, "post", entry, chain)
            except HandlerAbortError as exc:
                raise ChainAbortedError(f"the chained {performed.event} aborted: {exc}") from exc
            finally:
                audit.children.extend(entry.children)
        ctx.facts.forget_tokens()  # the chained actions may have changed them

    def _stop(
        self,
        audit: AuditRecord,
        entry: AuditRecord,
        *,
        definition: Definition | None,
        why: str,
        chain: tuple[int, ...],
        started: float,
    ) -> None:
        """Record a chain stopped by a loop or the depth limit: not a failure."""
        name = definition.name if definition is not None else "chained actions"
        if definition is not None:
            entry.action = "CHAIN-STOP " + entry.action.split(" ", 1)[1]
        limit = self.ports.settings.event_chain_depth
        detail = f"the depth limit {limit}" if why == "depth limit" else "a loop"
        entry.info = f"{name} (chain stopped: {detail}) [{chain_note(chain)}]"
        entry.success = True
        entry.duration = time.monotonic() - started
        audit.children.append(entry)
        log.info("chained actions stopped by %s: chain %s", detail, chain_note(chain))


def chain_note(chain: tuple[int, ...]) -> str:
    """``chain 4>7, depth 2``: the definition ids from the request's definition down
    (the last is the parent of the run) and the run's depth."""
    return f"chain {'>'.join(map(str, chain))}, depth {len(chain)}"


def chained_invocation(parent: Invocation, performed: PerformedRequest) -> Invocation:
    """The request an action performed, made by the parent request's caller."""
    return dataclasses.replace(
        parent,
        event=performed.event,
        method=performed.method,
        rule=performed.rule,
        params=dict(performed.params),
    )


def child_record(
    audit: AuditRecord,
    definition: Definition,
    position: Position,
    event: str,
    evaluation: Evaluation,
) -> AuditRecord:
    """The action's own audit entry: a copy of the request's entry as it is now."""
    prefix = "PRE-EVENT" if position == "pre" else "POST-EVENT"
    return dataclasses.replace(
        audit,
        action=f"{prefix} {event}>>{definition.handlermodule}:{definition.action}",
        startdate=utcnow(),
        info=definition.name,
        action_detail=json.dumps(definition.redacted_options(), sort_keys=True),
        trace=json.dumps([t.as_dict() for t in evaluation.trace]),
        success=False,
        duration=0.0,
        extra={},
        children=[],
        post_started=False,
    )
