"""The one request pipeline every route goes through.

authenticate → access check → pre definitions (may change the parameters) →
parameter validation → the service call in one transaction → post definitions
(may change the reply; they also run when the call failed) → audit.

Routes declare an :class:`Endpoint` (event name, parameter model, access rule,
handler); nothing here knows HTTP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from factorflow.audit.record import AuditRecord
from factorflow.core.invocation import Actor, ErrorReply, Invocation, Outcome, Reply
from factorflow.db.base import is_retryable_conflict, transaction
from factorflow.errors import AuthError, FactorflowError, ParameterError, PolicyError

if TYPE_CHECKING:
    from factorflow.bootstrap import Services

log = logging.getLogger(__name__)

P = TypeVar("P", bound=BaseModel)

_CONFLICT_RETRIES = 8


class Access(Enum):
    """Who may call an endpoint."""

    PUBLIC = "public"  # /validate/*, /auth: no JWT needed
    ADMIN = "admin"  # admin JWT only
    AUTHENTICATED = "authenticated"  # admin or user JWT; user calls act on themselves


@dataclass
class Call(Generic[P]):
    """Everything a route handler gets: the invocation, validated parameters, the
    unit-of-work session, the services and the audit record it may enrich."""

    inv: Invocation
    params: P
    session: Session
    services: Services
    audit: AuditRecord

    @property
    def actor(self) -> Actor:
        return self.inv.actor


@dataclass(frozen=True)
class Endpoint(Generic[P]):
    event: str
    params: type[P]
    handler: Callable[[Call[P]], Outcome]
    access: Access = Access.ADMIN
    #: Runs the handler with a database transaction; read-only handlers still get one.
    extra: dict[str, Any] = field(default_factory=dict)


class EventDispatcher(Protocol):
    """The event framework's hook into the pipeline (see ``factorflow.events``)."""

    def run_pre(self, inv: Invocation, audit: AuditRecord) -> None: ...

    def run_post(self, inv: Invocation, reply: Reply, audit: AuditRecord) -> Reply: ...


class NoEvents:
    def run_pre(self, inv: Invocation, audit: AuditRecord) -> None:
        return None

    def run_post(self, inv: Invocation, reply: Reply, audit: AuditRecord) -> Reply:
        return reply


def error_reply(exc: FactorflowError) -> ErrorReply:
    return ErrorReply(code=exc.code, message=exc.wire_message(), status=exc.status)


def validation_error(exc: ValidationError) -> ParameterError:
    """Turn pydantic's report into one clear message naming the first bad parameter."""
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "request"
    if first["type"] == "missing":
        return ParameterError(f"Missing parameter: {name!r}")
    return ParameterError(f"Invalid parameter {name!r}: {first['msg']}")


class Pipeline:
    def __init__(self, services: Services, events: EventDispatcher | None = None) -> None:
        self.services = services
        self.events: EventDispatcher = events or NoEvents()

    def run(self, inv: Invocation, endpoint: Endpoint[Any]) -> Reply:
        started = time.monotonic()
        audit = AuditRecord.begin(inv, node=self.services.settings.node_name)
        reply = self._authenticated_run(inv, endpoint, audit)
        reply = self._post_events(inv, reply, audit)
        audit.finish(reply, duration=time.monotonic() - started)
        self.services.audit.write(audit)
        return reply

    def _authenticated_run(
        self, inv: Invocation, endpoint: Endpoint[Any], audit: AuditRecord
    ) -> Reply:
        try:
            inv.actor = self._authenticate(inv, endpoint.access)
            audit.note_actor(inv.actor)
            self.events.run_pre(inv, audit)
            return Reply(outcome=self._call(inv, endpoint, audit))
        except FactorflowError as exc:
            audit.info = audit.info or exc.message
            return Reply(error=error_reply(exc))
        except Exception:
            # Never a traceback on the wire; the log keeps it for the operator.
            log.exception("unexpected error in %s %s", inv.method, inv.rule)
            audit.info = "internal error"
            return Reply(error=ErrorReply(code=-500, message="Internal server error", status=500))

    def _post_events(self, inv: Invocation, reply: Reply, audit: AuditRecord) -> Reply:
        try:
            return self.events.run_post(inv, reply, audit)
        except FactorflowError as exc:
            return Reply(error=error_reply(exc))

    def _authenticate(self, inv: Invocation, access: Access) -> Actor:
        if access is Access.PUBLIC:
            if inv.authorization:
                try:
                    return self.services.auth.verify(inv.authorization)
                except AuthError:
                    return Actor()
            return Actor()
        if not inv.authorization:
            raise AuthError("Authentication failure. Missing Authorization header.", code=4033)
        actor = self.services.auth.verify(inv.authorization)
        if access is Access.ADMIN and not actor.is_admin:
            raise AuthError(
                "You do not have the necessary role (admin) to access this resource.", code=4306
            )
        return actor

    def _call(self, inv: Invocation, endpoint: Endpoint[Any], audit: AuditRecord) -> Outcome:
        try:
            params = endpoint.params.model_validate(inv.params)
        except ValidationError as exc:
            raise validation_error(exc) from None
        for attempt in range(_CONFLICT_RETRIES):
            try:
                with transaction(self.services.sessions) as session:
                    return endpoint.handler(Call(inv, params, session, self.services, audit))
            except OperationalError as exc:
                if not is_retryable_conflict(exc) or attempt == _CONFLICT_RETRIES - 1:
                    raise
                time.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")


__all__ = ["Access", "Call", "Endpoint", "EventDispatcher", "Pipeline", "PolicyError"]
