"""Admin and user rights: the pipeline's :class:`~factorflow.pipeline.Authorizer`.

Rules (privacyIDEA's):

* **admin scope** — with no active admin policy every admin may do everything.
  With one, the right the event needs (:mod:`factorflow.policies.rights`) must be
  granted by a policy matching the admin (``adminuser`` / ``adminrealm``), the
  client, the time and the *target* of the request: the realm, resolver and user
  of the token (``serial``) or user (``user``/``realm``) it acts on, looked up in
  the database. A token owned by a user is in its owner's realm; an unowned token
  in several token realms needs the right in each; a request without a target
  (or an unknown serial) is not restricted by realm.
* **user scope** — with no active user policy users keep Factorflow's defaults;
  with one, every right-bearing event needs a matching grant for the user.

A refusal is a :class:`PolicyError` (403); ``audit.policies`` names the policies
that granted the request.

The authorizer also runs privacyIDEA's request pre-policy ``setrealm`` on
``/validate/check`` (:mod:`factorflow.policies.prepolicy`), names the enrollment
policies of a ``/token/init`` in the audit (the token service's enrollment hook
applies them, to handler enrolments too), and leaves the client address in
``session.info`` for later policy questions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from factorflow.audit.record import AuditRecord
from factorflow.core.invocation import Invocation
from factorflow.errors import FactorflowError, PolicyError
from factorflow.policies.decide import CLIENT_KEY
from factorflow.policies.matching import MatchContext
from factorflow.policies.prepolicy import apply_setrealm, enrollment_names
from factorflow.policies.rights import PUBLIC, required_right
from factorflow.tokens.access import TokenAccess
from factorflow.tokens.models import Token
from factorflow.users.identity import User

if TYPE_CHECKING:
    from factorflow.bootstrap import Services


@dataclass
class Target:
    """Whom a request acts on, as far as the parameters say."""

    realms: list[str] = field(default_factory=list)
    resolver: str | None = None
    user: User | None = None
    token: Token | None = None

    def tokeninfo(self) -> dict[str, str] | None:
        return {i.key: i.value for i in self.token.info} if self.token is not None else None

    def userinfo(self) -> dict[str, str] | None:
        return dict(self.user.attributes) if self.user is not None else None


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


class PolicyAuthorizer:
    def __init__(self, services: Services) -> None:
        self.services = services

    def authorize(self, inv: Invocation, session: Session, audit: AuditRecord) -> None:
        # Later policy questions in this request (validate, enrolment) match the client.
        session.info[CLIENT_KEY] = inv.client_ip
        if inv.event in PUBLIC or not (inv.actor.is_admin or inv.actor.is_user):
            names = apply_setrealm(self.services, inv, session)
            if names:
                audit.policies = ",".join(names)[:255]
            return
        names = self._check_right(inv, session, audit)
        names += enrollment_names(self.services, inv, session)
        if names:
            audit.policies = ",".join(dict.fromkeys(names))[:255]

    def _check_right(self, inv: Invocation, session: Session, audit: AuditRecord) -> list[str]:
        """The admin/user right check; returns the granting policies' names."""
        scope = "admin" if inv.actor.is_admin else "user"
        if not self.services.policies.defined(session, scope):
            return []
        right = required_right(inv)
        name = (right.admin if scope == "admin" else right.user) if right else None
        if right is not None and name is None:
            return []  # a user event that keeps Factorflow's defaults
        if name is None:
            raise PolicyError(
                f"Admin actions are defined, but the event {inv.event!r} has no right."
            )
        granted = self._granted(inv, session, scope, name)
        if granted is None:
            who = "Admin" if scope == "admin" else "User"
            audit.info = f"refused by {scope} policies: {name}"
            raise PolicyError(f"{who} actions are defined, but the action {name} is not allowed!")
        return granted

    def _granted(
        self, inv: Invocation, session: Session, scope: str, right: str
    ) -> list[str] | None:
        """Names of the granting policies, or None when the right is not granted."""
        policies = self.services.policies
        actor = inv.actor
        if scope == "user":
            user = self._user(session, actor.username, actor.realm)
            ctx = MatchContext(
                realm=actor.realm, user=actor.username, client=inv.client_ip,
                resolver=user.resolver if user else None,
                userinfo=lambda: dict(user.attributes) if user else None,
            )  # fmt: skip
            return policies.view(session, scope, ctx).granting(right) or None
        target = self._target(session, inv)
        names: list[str] = []
        realms: list[str | None] = [*target.realms] or [None]
        for realm in realms:
            ctx = MatchContext(
                realm=realm, resolver=target.resolver,
                user=target.user.login if target.user else None,
                adminrealm=actor.realm, adminuser=actor.username, client=inv.client_ip,
                userinfo=target.userinfo, tokeninfo=target.tokeninfo,
                facts_key=target.token.serial if target.token else "",
            )  # fmt: skip
            granting = policies.view(session, scope, ctx).granting(right)
            if not granting:
                return None
            names.extend(n for n in granting if n not in names)
        return names

    def _user(self, session: Session, login: str, realm: str) -> User | None:
        try:
            return self.services.users.resolve(session, login, realm)
        except FactorflowError:
            return None

    def _target(self, session: Session, inv: Invocation) -> Target:
        params = inv.params
        serial = _text(params.get("serial"))
        if serial and "," not in serial and "*" not in serial:
            token = TokenAccess.find(session, serial)
            if token is not None:
                return self._token_target(session, token)
        login, realm = _text(params.get("user")), _text(params.get("realm"))
        if login:
            user = self._user(session, login, realm)
            if user is not None:
                return Target([user.realm], user.resolver, user)
        if realm:
            return Target([realm])
        if login:
            return Target([self.services.users.default_realm(session) or ""])
        return Target()

    def _token_target(self, session: Session, token: Token) -> Target:
        owner = token.owner
        if owner is None:
            return Target([tr.realm.name for tr in token.realms], token=token)
        user = self.services.tokens.access.owner_of(session, token)
        return Target([owner.realm.name], owner.resolver, user, token)
