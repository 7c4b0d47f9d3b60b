"""The one request pipeline every route goes through.

authenticate (the JWT) → in one transaction: the session check (logout, a new
password, a deleted admin end it), the access check, pre definitions (may change
the parameters), parameter validation, the service call and post definitions (may
change the reply; they also run when the call failed) and, for a request that
writes, its audit entries → commit. The audit of a read, and of a request whose
transaction failed, is written after it.

Routes declare an :class:`Endpoint` (event name, parameter model, access rule,
handler); nothing here knows HTTP. The pipeline itself uses only its
:class:`PipelinePorts`; the services its handlers need (``S``) pass through it
untouched, so it does not depend on the composition root.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from factorflow.audit.record import AuditRecord
from factorflow.audit.service import AuditService
from factorflow.audit.writer import Joined
from factorflow.auth.service import EXPIRED, AuthService, Credentials
from factorflow.auth.sessions import SessionGuard
from factorflow.core.checks import validation_error
from factorflow.core.invocation import NOBODY, Actor, ErrorReply, Invocation, Outcome, Reply
from factorflow.db.base import retrying, serialises_writes, transaction
from factorflow.errors import AuthError, FactorflowError, PolicyError

log = logging.getLogger(__name__)

P = TypeVar("P", bound=BaseModel)
#: The services the handlers get (the composition root's), passed through.
S = TypeVar("S")
T = TypeVar("T")

_CONFLICT_RETRIES = 8


class Access(Enum):
    """Who may call an endpoint."""

    PUBLIC = "public"  # /validate/*, /auth: no JWT needed
    ADMIN = "admin"  # admin JWT only
    AUTHENTICATED = "authenticated"  # admin or user JWT; user calls act on themselves


@dataclass(frozen=True)
class PipelinePorts:
    """What the pipeline itself uses."""

    sessions: sessionmaker[Session]
    audit: AuditService
    auth: AuthService
    session_guard: SessionGuard
    node_name: str


@dataclass
class Call(Generic[P, S]):
    """Everything a route handler gets: the invocation, validated parameters, the
    unit-of-work session, the services and the audit record it may enrich."""

    inv: Invocation
    params: P
    session: Session
    services: S
    audit: AuditRecord
    #: What the endpoint's ``prepare`` returned for this request, or None when it
    #: did not run (see :attr:`Endpoint.prepare`).
    prepared: object | None = None

    @property
    def actor(self) -> Actor:
        return self.inv.actor


@dataclass(frozen=True)
class Endpoint(Generic[P, S]):
    event: str
    params: type[P]
    handler: Callable[[Call[P, S]], Outcome]
    access: Access = Access.ADMIN
    #: Whether the unit of work writes: on SQLite a writer passes the write gate and
    #: begins IMMEDIATE; a reader does not (declared by the route, never guessed from
    #: the request: ``GET /validate/check`` writes counters like its POST).
    writes: bool = True
    #: Runs the handler with a database transaction; read-only handlers still get one.
    extra: dict[str, Any] = field(default_factory=dict)
    #: Optional work done before the unit of work, in a read-only transaction, where
    #: the database serialises writers (SQLite): the part of the handler's work that
    #: only reads and is slow (the PIN verifications of /validate/check), so that it
    #: is paid outside the write lock. Its return value reaches the handler as
    #: ``Call.prepared``; the handler decides again with it under the lock. It must
    #: not write. A failure here is ignored: the handler then does the work itself.
    prepare: Callable[[Call[P, S]], object] | None = None


class EventDispatcher(Protocol):
    """The event framework's hook into the pipeline (see ``factorflow.events``).

    Both hooks run inside the request's unit of work (``session``), so changes and
    durable jobs that actions create commit or roll back with the request. Each
    action's own audit entry is appended to ``audit.children``.
    """

    def run_pre(self, inv: Invocation, session: Session, audit: AuditRecord) -> None: ...

    def run_post(
        self, inv: Invocation, reply: Reply, session: Session, audit: AuditRecord
    ) -> Reply: ...


class Authorizer(Protocol):
    """Decides whether the actor may make this request (admin and user policies).

    Called inside the request's unit of work after authentication and before pre
    definitions; refuses by raising :class:`PolicyError` (403). ``recheck`` runs when
    pre definitions changed the parameters, so the rights hold for what the request
    touches after the change.
    """

    def authorize(self, inv: Invocation, session: Session, audit: AuditRecord) -> None: ...

    def recheck(self, inv: Invocation, session: Session, audit: AuditRecord) -> None: ...


class AllowAll:
    def authorize(self, inv: Invocation, session: Session, audit: AuditRecord) -> None:
        return None

    def recheck(self, inv: Invocation, session: Session, audit: AuditRecord) -> None:
        return None


class NoEvents:
    def run_pre(self, inv: Invocation, session: Session, audit: AuditRecord) -> None:
        return None

    def run_post(
        self, inv: Invocation, reply: Reply, session: Session, audit: AuditRecord
    ) -> Reply:
        return reply


def error_reply(exc: FactorflowError) -> ErrorReply:
    return ErrorReply(
        code=exc.code, message=exc.wire_message(), status=exc.status, detail=exc.detail
    )


class Pipeline(Generic[S]):
    def __init__(
        self,
        ports: PipelinePorts,
        services: S,
        events: EventDispatcher | None = None,
        authorizer: Authorizer | None = None,
    ) -> None:
        self.ports = ports
        self.services = services
        self.events: EventDispatcher = events or NoEvents()
        self.authorizer: Authorizer = authorizer or AllowAll()

    def run(self, inv: Invocation, endpoint: Endpoint[Any, S]) -> Reply:
        started = time.monotonic()
        audit = AuditRecord.begin(inv, node=self.ports.node_name)
        joined: Joined | None = None
        try:
            credentials = self._authenticate(inv, endpoint.access)
            inv.actor = credentials.actor if credentials is not None else NOBODY
            prepared = self._prepare(inv, endpoint)
            reply, joined = self._in_transaction(
                lambda session: self._unit(
                    session, inv, endpoint, audit, credentials, prepared=prepared, started=started
                ),
                write=endpoint.writes,
            )
        except Exception as exc:
            # The actions' work was rolled back with the request: keep only the entries
            # of failed actions (an abort_on_error failure among them), whose audit
            # explains why the request failed; successful ones would now be untrue.
            audit.children[:] = [child for child in audit.children if not child.success]
            reply = self._failed(exc, audit)
            if not audit.post_started:
                reply = self._post_after_failure(inv, reply, audit)
        if joined is not None and joined.written:
            return reply
        audit.finish(reply, duration=time.monotonic() - started)
        self.ports.audit.write(audit)
        return reply

    def _prepare(self, inv: Invocation, endpoint: Endpoint[Any, S]) -> object | None:
        """Where the database serialises writers, the endpoint's ``prepare`` on a read
        session; None where it has none, elsewhere, or when it failed."""
        if endpoint.prepare is None or not serialises_writes(self.ports.sessions):
            return None
        try:
            with transaction(self.ports.sessions) as session:
                params = endpoint.params.model_validate(inv.params)
                scratch = AuditRecord.begin(inv, node=self.ports.node_name)
                return endpoint.prepare(Call(inv, params, session, self.services, scratch))
        except Exception:
            # Bad parameters, an unknown user, a store that is down: the unit of
            # work meets the same and answers properly.
            log.debug("prepare of %s skipped", inv.rule, exc_info=True)
            return None

    def _in_transaction(self, work: Callable[[Session], T], *, write: bool = True) -> T:
        """Run ``work`` in one transaction, retrying it whole on a write conflict."""
        return retrying(self.ports.sessions, work, write=write, attempts=_CONFLICT_RETRIES)

    def _unit(
        self,
        session: Session,
        inv: Invocation,
        endpoint: Endpoint[Any, S],
        audit: AuditRecord,
        credentials: Credentials | None,
        *,
        prepared: object | None,
        started: float,
    ) -> tuple[Reply, Joined | None]:
        """The request's unit of work; a writing one ends with its audit entries, so
        that the change and its audit commit together (ADR 0014)."""
        audit.children.clear()  # a retried unit of work starts its event trail afresh
        audit.post_started = False
        self._check_session(session, inv, endpoint.access, audit, credentials)
        audit.note_actor(inv.actor)
        self.authorizer.authorize(inv, session, audit)
        authorized = dict(inv.params)
        self.events.run_pre(inv, session, audit)
        if inv.params != authorized:
            self.authorizer.recheck(inv, session, audit)
        try:
            params = endpoint.params.model_validate(inv.params)
        except ValidationError as exc:
            raise validation_error(exc) from None
        try:
            reply = Reply(
                outcome=endpoint.handler(Call(inv, params, session, self.services, audit, prepared))
            )
        except FactorflowError as exc:
            if not exc.keeps_changes:
                raise
            # The unit of work commits what the handler did (a failed login's count);
            # post definitions see the error in it.
            reply = Reply(error=error_reply(exc))
        # Once post definitions started, an abort from one of them must not make
        # them run a second time on the failure path.
        audit.post_started = True
        reply = self.events.run_post(inv, reply, session, audit)
        if not endpoint.writes:
            return reply, None
        # A finished copy: should the commit fail, the request's record is finished
        # again with the failure and written after the rollback.
        entry = replace(audit)
        entry.finish(reply, duration=time.monotonic() - started)
        return reply, self.ports.audit.write_within(session, entry)

    def _check_session(
        self,
        session: Session,
        inv: Invocation,
        access: Access,
        audit: AuditRecord,
        credentials: Credentials | None,
    ) -> None:
        """Refuse a JWT whose session has ended like an expired one (401, 4305); on a
        public endpoint the caller is then nobody."""
        if credentials is None:
            return
        reason = self.ports.session_guard.refusal(session, credentials)
        if reason is None:
            return
        if access is Access.PUBLIC:
            inv.actor = NOBODY
            return
        audit.info = f"JWT refused: {reason}"
        raise AuthError(EXPIRED, code=4305)

    def _failed(self, exc: Exception, audit: AuditRecord) -> Reply:
        if isinstance(exc, FactorflowError):
            audit.info = audit.info or exc.message
            if exc.user_ref is not None and not audit.user:
                audit.note_user(*exc.user_ref)
            return Reply(error=error_reply(exc))
        # Never a traceback on the wire; the log keeps it for the operator.
        log.exception("unexpected error in %s", audit.action)
        audit.info = "internal error"
        return Reply(error=ErrorReply(code=-500, message="Internal server error", status=500))

    def _post_after_failure(self, inv: Invocation, reply: Reply, audit: AuditRecord) -> Reply:
        """Post definitions also see failed requests (unlike privacyIDEA), in a fresh
        transaction since the request's own was rolled back."""
        try:
            return self._in_transaction(
                lambda session: self.events.run_post(inv, reply, session, audit)
            )
        except FactorflowError as exc:
            return Reply(error=error_reply(exc))
        except Exception:
            log.exception("post definitions failed after an error in %s", audit.action)
            return reply

    def _authenticate(self, inv: Invocation, access: Access) -> Credentials | None:
        """The JWT's credentials (signature and expiry checked; the session is checked
        in the unit of work); None for nobody."""
        if access is Access.PUBLIC:
            if inv.authorization:
                try:
                    return self.ports.auth.verify(inv.authorization)
                except AuthError:
                    return None
            return None
        if not inv.authorization:
            raise AuthError("Authentication failure. Missing Authorization header.", code=4033)
        credentials = self.ports.auth.verify(inv.authorization)
        if access is Access.ADMIN and not credentials.actor.is_admin:
            raise AuthError(
                "You do not have the necessary role (admin) to access this resource.", code=4306
            )
        return credentials


__all__ = [
    "Access",
    "Authorizer",
    "Call",
    "Endpoint",
    "EventDispatcher",
    "Pipeline",
    "PipelinePorts",
    "PolicyError",
]
