"""What the event framework and its plug-ins may use, built by the composition root
(``factorflow.bootstrap``) — never the whole service bag.

* :class:`ActionPorts` is what a handler's action gets (through
  :class:`~factorflow.events.handlers.base.ActionContext`): the domain's use cases, so
  that an action obeys the rules of the API call that does the same thing (a
  definition's ``Token: enable`` is refused for a revoked token as ``/token/enable``
  is), the job sink for durable deliveries, the secret box for secret options, and
  the settings.
* :class:`EventPorts` is what the framework's own parts get (the dispatcher, the
  scheduler, dry runs): their transactions, the definitions, the user directory, the
  audit log, and the actions' ports to hand on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from factorflow.admins.service import AdminService
from factorflow.audit.record import AuditRecord
from factorflow.audit.service import AuditService
from factorflow.core.invocation import Invocation, Reply
from factorflow.crypto import SecretBox
from factorflow.events.facts import Facts
from factorflow.federation.service import FederationService
from factorflow.jobs.service import JobService
from factorflow.machines.service import MachineService
from factorflow.registry import Registry
from factorflow.settings import Settings
from factorflow.tokens.base import TokenType
from factorflow.tokens.helpdesk import TokenHelpdesk
from factorflow.tokens.service import TokenService
from factorflow.users.service import UserService

if TYPE_CHECKING:
    # The definitions service imports the handlers, whose context names these ports.
    from factorflow.events.service import EventService
    from factorflow.events.streams.service import StreamService


@dataclass(frozen=True)
class ActionPorts:
    """What an action may use."""

    #: The user directory: resolve, list, attributes.
    users: UserService
    #: The token use cases (``/token/*`` with their rules) and the help desk's.
    tokens: TokenService
    helpdesk: TokenHelpdesk
    token_types: Registry[TokenType]
    #: The durable job sink: deliveries commit with the request.
    jobs: JobService
    #: The local admins (their email addresses, for notifications).
    admins: AdminService
    box: SecretBox
    #: The stored privacyIDEA servers a Federation action forwards to.
    remote_servers: FederationService
    settings: Settings
    #: Machine applications (``attach application``: the use case of /machine/token).
    machines: MachineService


@dataclass(frozen=True)
class EventPorts:
    """What the framework's dispatcher, scheduler and dry runs use."""

    sessions: sessionmaker[Session]
    #: The definitions: cache, compile, rows, metrics.
    events: EventService
    users: UserService
    audit: AuditService
    settings: Settings
    actions: ActionPorts
    #: The event streams each request's event is published to (None: none).
    streams: StreamService | None = None

    def facts(
        self,
        session: Session,
        inv: Invocation,
        audit: AuditRecord,
        *,
        reply: Reply | None = None,
        now: datetime | None = None,
    ) -> Facts:
        """The facts of one request (or swept item) that its definitions share."""
        return Facts(
            self.users,
            session,
            inv,
            audit,
            reply=reply,
            now=now or datetime.now(UTC),
            base_url=self.settings.base_url,
        )


__all__ = ["ActionPorts", "EventPorts"]
