"""What a scheduled definition sweeps, as the request path sees it: one framework-free
:class:`Invocation` and one :class:`Facts` per token or user.

* **tokens**: every token, in id order, read in batches by keyset (``id > last``), so a
  token deleted or added during the run neither stops the sweep nor is read twice. The
  invocation's parameter is the token's ``serial``; the facts' token is the swept token
  and their user its owner (resolved only if a condition, tag or action asks).
* **users**: every user of every realm, realm by realm (by name) and, within a realm,
  resolver by resolver in the realm's order, users by id — the same user in two realms
  is two users, as everywhere else. Parameters ``user`` and ``realm``; the facts' user
  is the swept user, their tokens the user's tokens. A user store that cannot be read
  is skipped and named in the run's summary.

The caller of a swept invocation is the admin ``scheduler``; there is no client IP,
user agent or response.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factorflow.audit.record import AuditRecord
from factorflow.core.invocation import Actor, Invocation
from factorflow.errors import FactorflowError
from factorflow.events.facts import Facts
from factorflow.events.schedule import SCHEDULED_EVENT
from factorflow.tokens.models import Token
from factorflow.users import realms
from factorflow.users.errors import StoreUnavailableError
from factorflow.users.identity import User

if TYPE_CHECKING:
    from factorflow.events.ports import EventPorts
    from factorflow.users.service import UserService

#: Who a scheduled run acts as (audit ``administrator``, condition ``logged_in_user``).
SCHEDULER = Actor(role="admin", username="scheduler")
#: At most this many users are read from one user store per run (the stores' own size
#: limits, e.g. an SQL resolver's ``Limit`` or LDAP's size limit, may be lower).
USER_SWEEP_LIMIT = 100_000


@dataclass(frozen=True)
class SweepItem:
    """One swept token or user."""

    token: Token | None = None
    user: User | None = None

    @property
    def label(self) -> str:
        if self.token is not None:
            return self.token.serial
        assert self.user is not None
        return f"{self.user.login}@{self.user.realm}"

    def params(self) -> dict[str, str]:
        if self.token is not None:
            return {"serial": self.token.serial}
        assert self.user is not None
        return {"user": self.user.login, "realm": self.user.realm}

    def describe(self) -> dict[str, str]:
        """The item in a dry run's answer."""
        if self.token is not None:
            return {"serial": self.token.serial, "type": self.token.tokentype}
        assert self.user is not None
        return {"user": self.user.login, "realm": self.user.realm, "resolver": self.user.resolver}


@dataclass(frozen=True)
class UserRef:
    realm: str
    resolver: str
    uid: str


@dataclass
class UserList:
    users: list[UserRef] = field(default_factory=list)
    #: ``realm/resolver`` → why it could not be read.
    skipped: dict[str, str] = field(default_factory=dict)


# -- reading the sweep ----------------------------------------------------------------


def token_batch(session: Session, after_id: int, limit: int) -> list[Token]:
    query = select(Token).where(Token.id > after_id).order_by(Token.id).limit(limit)
    return list(session.scalars(query))


def count_tokens(session: Session) -> int:
    return int(session.scalar(select(func.count(Token.id))) or 0)


def find_token(session: Session, serial: str) -> Token | None:
    return session.scalar(select(Token).where(Token.serial == serial))


def list_users(users: UserService, session: Session) -> UserList:
    found = UserList()
    for realm in realms.all_realms(session):
        for member in realms.ordered_members(realm):
            name = member.resolver.name
            try:
                store = users.resolvers.store(member.resolver)
                records = store.search({}, USER_SWEEP_LIMIT)
            except StoreUnavailableError as exc:
                found.skipped[f"{realm.name}/{name}"] = exc.message
                continue
            found.users.extend(
                UserRef(realm.name, name, r.uid) for r in sorted(records, key=lambda r: r.uid)
            )
    return found


def resolve(users: UserService, session: Session, ref: UserRef) -> User | None:
    """The user as stored now (None if gone since the list was read)."""
    try:
        return users.get_user(session, ref.realm, ref.resolver, ref.uid)
    except FactorflowError:
        return None


# -- one item as a request ------------------------------------------------------------


def invocation(definition_id: int, item: SweepItem, request_id: str) -> Invocation:
    """The invocation of one swept item; all items of a run share the run's
    ``request_id``, which links the action entries to the run's summary."""
    return Invocation(
        event=SCHEDULED_EVENT,
        method="SCHEDULED",
        rule=f"/event/{definition_id}",
        params=item.params(),
        actor=SCHEDULER,
        request_id=request_id,
    )


def item_facts(
    ports: EventPorts,
    session: Session,
    inv: Invocation,
    audit: AuditRecord,
    *,
    item: SweepItem,
    now: datetime,
) -> Facts:
    """Facts of one item, with what the sweep already loaded: Facts computes the user
    and the tokens lazily with functools.cached_property, which keeps the value in the
    instance dict — seeding it there saves a query per item and keeps the swept
    user exactly the one swept (resolving the login again could find a namesake in
    another resolver of the realm)."""
    facts = ports.facts(session, inv, audit, now=now)
    if item.token is not None:
        facts.__dict__["tokens"] = [item.token]
    if item.user is not None:
        facts.__dict__["user"] = item.user
    return facts


def item_audit(run: AuditRecord, item: SweepItem) -> AuditRecord:
    """The parent record of one item's action entry: the run's, naming the item."""
    record = dataclasses.replace(run, children=[], extra={})
    if item.token is not None:
        record.note_token(item.token.serial, item.token.tokentype)
        owner = item.token.owner
        if owner is not None:
            record.realm, record.resolver = owner.realm.name, owner.resolver
    if item.user is not None:
        record.note_user(item.user.login, item.user.realm, item.user.resolver)
    return record


def note_resolved_user(facts: Facts, record: AuditRecord) -> None:
    """Name the token owner in the action entries if the run resolved it anyway."""
    user = facts.__dict__.get("user")
    if isinstance(user, User) and not record.user:
        for child in record.children:
            child.user, child.realm, child.resolver = user.login, user.realm, user.resolver


__all__ = [
    "SCHEDULER",
    "SweepItem",
    "UserList",
    "UserRef",
    "count_tokens",
    "find_token",
    "invocation",
    "item_audit",
    "item_facts",
    "list_users",
    "resolve",
    "token_batch",
]
