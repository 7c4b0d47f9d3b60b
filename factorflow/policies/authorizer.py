"""Admin and user rights: the pipeline's :class:`~factorflow.pipeline.Authorizer`.

Rules (privacyIDEA's, with every touched object checked):

* **admin scope** — with no active admin policy every admin may do everything
  (decided before anything is looked up). With one, the right the event needs
  (:mod:`factorflow.policies.rights`) must be granted by policies matching the
  admin (``adminuser`` / ``adminrealm``), the client, the time and *each target*
  of the request: every token, user, realm and user store its parameters name
  (:mod:`factorflow.policies.targets` declares them per event). An owned token is
  in its owner's realm; for an unowned token the right in one of its realms
  suffices; objects in no realm, and requests that name none, are matched without
  a realm. One target that is not granted refuses the request.
* **user scope** — with no active user policy users keep Factorflow's defaults;
  with one, every right-bearing event needs a matching grant for the user.

A refusal is a :class:`PolicyError` (403) and ``audit.info`` names the right and
the target; ``audit.policies`` names the policies that granted the request. When
a pre definition changes the parameters, the pipeline calls :meth:`recheck`: the
rights hold for what the request touches after the change too.

The authorizer also runs privacyIDEA's request pre-policy ``setrealm`` on
``/validate/check`` (:mod:`factorflow.policies.prepolicy`), names the enrollment
policies of a ``/token/init`` in the audit (the token service's enrollment hook
applies them, to handler enrolments too), and leaves the client address in
``session.info`` for later policy questions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from factorflow.audit.record import AuditRecord
from factorflow.core.invocation import Invocation
from factorflow.errors import FactorflowError, PolicyError
from factorflow.policies.decide import CLIENT_KEY, user_context
from factorflow.policies.matching import MatchContext
from factorflow.policies.objects import DbObjects
from factorflow.policies.prepolicy import apply_setrealm, enrollment_names
from factorflow.policies.rights import PUBLIC, required_right
from factorflow.policies.targets import NO_TARGET, Target, targets_of
from factorflow.users.identity import User

if TYPE_CHECKING:
    from factorflow.policies.service import PolicyService
    from factorflow.tokens.access import TokenAccess
    from factorflow.users.service import UserService


class PolicyAuthorizer:
    """Implements ``factorflow.pipeline.Authorizer`` with the admin and user policies,
    on the user directory and the token lookup the token use cases use."""

    def __init__(self, policies: PolicyService, users: UserService, tokens: TokenAccess) -> None:
        self.policies = policies
        self.users = users
        self.tokens = tokens

    def authorize(self, inv: Invocation, session: Session, audit: AuditRecord) -> None:
        # Later policy questions in this request (validate, enrolment) match the client.
        session.info[CLIENT_KEY] = inv.client_ip
        if _public(inv):
            names = apply_setrealm(self.policies, self.users, inv, session)
            if names:
                audit.policies = ",".join(names)[:255]
            return
        self._rights(inv, session, audit)

    def recheck(self, inv: Invocation, session: Session, audit: AuditRecord) -> None:
        """The rights again, after pre definitions changed the parameters."""
        if not _public(inv):
            self._rights(inv, session, audit)

    def _rights(self, inv: Invocation, session: Session, audit: AuditRecord) -> None:
        names = self._check_right(inv, session, audit)
        names += enrollment_names(self.policies, self.users, inv, session)
        if names:
            audit.policies = ",".join(dict.fromkeys(names))[:255]

    def _check_right(self, inv: Invocation, session: Session, audit: AuditRecord) -> list[str]:
        """The admin/user right check; returns the granting policies' names."""
        scope = "admin" if inv.actor.is_admin else "user"
        if not self.policies.defined(session, scope):
            return []
        right = required_right(inv)
        name = (right.admin if scope == "admin" else right.user) if right else None
        if right is not None and name is None:
            return []  # a user event that keeps Factorflow's defaults
        if name is None:
            raise PolicyError(
                f"Admin actions are defined, but the event {inv.event!r} has no right."
            )
        if scope == "admin":
            return self._admin_grant(inv, session, audit, name)
        granted = self._user_grant(inv, session, name)
        if granted is None:
            audit.info = f"refused by user policies: {name}"
            raise PolicyError(f"User actions are defined, but the action {name} is not allowed!")
        return granted

    def _user_grant(self, inv: Invocation, session: Session, right: str) -> list[str] | None:
        actor = inv.actor
        ctx = user_context(actor, self._user(session, actor.username, actor.realm), inv.client_ip)
        return self.policies.view(session, "user", ctx).granting(right) or None

    def _admin_grant(
        self, inv: Invocation, session: Session, audit: AuditRecord, right: str
    ) -> list[str]:
        """Names of the policies granting ``right`` on every target; refuses otherwise."""
        lookup = DbObjects(session, self.users, self.tokens)
        names: list[str] = []
        for target in targets_of(inv.event, inv.params, lookup) or [NO_TARGET]:
            granting = self._target_grant(inv, session, right, target)
            if granting is None:
                audit.info = f"refused by admin policies: {right} on {target.label}"[:500]
                raise PolicyError(
                    f"Admin actions are defined, but the action {right} is not allowed!"
                )
            names.extend(n for n in granting if n not in names)
        return names

    def _target_grant(
        self, inv: Invocation, session: Session, right: str, target: Target
    ) -> list[str] | None:
        """The policies granting ``right`` on ``target``: in each of its realms, or in
        one of them for ``any_realm``; None when that does not hold."""
        actor = inv.actor
        per_realm: list[list[str]] = []
        for realm in target.realms or (None,):
            ctx = MatchContext(
                realm=realm, resolver=target.resolver, user=target.user,
                adminrealm=actor.realm, adminuser=actor.username, client=inv.client_ip,
                userinfo=target.userinfo, tokeninfo=target.tokeninfo,
                facts_key=target.facts_key,
            )  # fmt: skip
            per_realm.append(self.policies.view(session, "admin", ctx).granting(right))
        held = any(per_realm) if target.any_realm else all(per_realm)
        if not held:
            return None
        return list(dict.fromkeys(name for names in per_realm for name in names))

    def _user(self, session: Session, login: str, realm: str) -> User | None:
        try:
            return self.users.resolve(session, login, realm)
        except FactorflowError:
            return None


def _public(inv: Invocation) -> bool:
    """Public events and anonymous callers need no right."""
    return inv.event in PUBLIC or not (inv.actor.is_admin or inv.actor.is_user)
