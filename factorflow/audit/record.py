"""The audit data of one request, filled in as the request runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from factorflow.core.invocation import Actor, Invocation, Reply
from factorflow.db.base import utcnow


@dataclass
class AuditRecord:
    action: str
    request_id: str
    startdate: datetime
    client: str = ""
    user_agent: str = ""
    user_agent_version: str = ""
    node: str = ""
    success: bool = False
    authentication: str = ""
    serial: str = ""
    token_type: str = ""
    user: str = ""
    realm: str = ""
    resolver: str = ""
    administrator: str = ""
    action_detail: str = ""
    info: str = ""
    policies: str = ""
    trace: str = ""
    duration: float = 0.0
    #: When the entry was written; None: at the write. Set only for entries another
    #: server wrote (a migration keeps their own dates).
    date: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)
    #: Entries of the event actions this request ran, written after it, linked by request_id.
    children: list[AuditRecord] = field(default_factory=list)
    post_started: bool = False

    @classmethod
    def begin(cls, inv: Invocation, *, node: str) -> AuditRecord:
        agent, _, version = inv.user_agent.partition("/")
        return cls(
            action=f"{inv.method} {inv.rule}",
            request_id=inv.request_id,
            startdate=utcnow(),
            client=inv.client_ip,
            user_agent=agent.strip(),
            user_agent_version=version.split(" ")[0],
            node=node,
        )

    def note_actor(self, actor: Actor) -> None:
        if actor.is_admin:
            self.administrator = actor.username
        elif actor.is_user and not self.user:
            self.user, self.realm = actor.username, actor.realm

    def note_user(self, login: str, realm: str, resolver: str = "") -> None:
        self.user, self.realm = login, realm
        if resolver:
            self.resolver = resolver

    def note_token(self, serial: str, token_type: str = "") -> None:
        self.serial = serial
        if token_type:
            self.token_type = token_type

    def finish(self, reply: Reply, *, duration: float) -> None:
        self.duration = duration
        if reply.error is not None:
            self.success = False
            if not self.info:
                self.info = reply.error.message
            return
        assert reply.outcome is not None
        outcome = reply.outcome
        if outcome.authentication:
            self.authentication = outcome.authentication
            self.success = outcome.authentication == "ACCEPT"
        else:
            self.success = True
