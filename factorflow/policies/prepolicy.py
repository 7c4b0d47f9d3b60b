"""Policy decisions the pipeline and the token service take outside the services'
own rules: privacyIDEA's request pre-policies and the enrollment hook.

* :class:`PolicyEnrollment` is the token service's enrollment hook (injected by the
  composition root): the ``enrollment`` policies matching the user (or realm) of a
  token being enrolled, with the PIN rules and forced values of the acting admin's
  ``admin`` policies (the acting user's ``user`` policies), as an
  :class:`~factorflow.policies.enroll.EnrollPolicy`. The
  token service applies it to every enrolment, ``/token/init`` and the Token
  handler's ``enroll`` alike (:mod:`factorflow.tokens.enroll`), so the decision is
  taken in that one place.
* :func:`enrollment_names` only names the enrollment policies that will decide a
  ``token_init`` request, for the audit's ``policies`` column (refused requests
  included).
* :func:`apply_setrealm`: ``setrealm`` on ``/validate/check``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from factorflow.core.invocation import Actor, Invocation
from factorflow.errors import FactorflowError
from factorflow.policies.decide import RequestPolicies
from factorflow.policies.enroll import EnrollPolicy
from factorflow.policies.matching import MatchContext
from factorflow.policies.service import PolicyService
from factorflow.users.identity import User

if TYPE_CHECKING:
    from factorflow.policies.service import PolicyService
    from factorflow.users.service import UserService


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


class PolicyEnrollment:
    """The token service's ``EnrollmentPolicies`` hook, backed by the policy engine.

    The client address comes from the request's session (the authorizer leaves it
    there), so a handler's enrolment matches the same client as the request."""

    def __init__(self, service: PolicyService) -> None:
        self.service = service

    def __call__(
        self, session: Session, actor: Actor, user: User | None, realm: str | None
    ) -> EnrollPolicy:
        policies = RequestPolicies(self.service, session)
        view = policies.view("enrollment", user, realm)
        return EnrollPolicy.from_views(view, policies.role_view(actor, user, realm))


def enrollment_names(
    policies: PolicyService, users: UserService, inv: Invocation, session: Session
) -> list[str]:
    """The enrollment policies matching a ``token_init`` request's user (or realm).

    Only names, for the audit: checking and adjusting the enrolment is the token
    service's hook (:class:`PolicyEnrollment`)."""
    if inv.event != "token_init":
        return []
    user = _user(users, inv, session)
    realm = user.realm if user else _text(inv.params.get("realm"))
    view = RequestPolicies(policies, session, inv.client_ip).view("enrollment", user, realm)
    return view.names


def _user(users: UserService, inv: Invocation, session: Session) -> User | None:
    login = inv.actor.username if inv.actor.is_user else _text(inv.params.get("user"))
    realm = inv.actor.realm if inv.actor.is_user else _text(inv.params.get("realm"))
    if not login:
        return None
    try:
        return users.resolve(session, login, realm or "")
    except FactorflowError:
        return None  # the token service reports the unknown user


def apply_setrealm(
    policies: PolicyService, users: UserService, inv: Invocation, session: Session
) -> list[str]:
    """``/validate/check`` with the authorization policy ``setrealm``: authenticate the
    user in the policy's realm instead of the requested one (privacyIDEA's pre-policy)."""
    if inv.event != "validate_check" or not _text(inv.params.get("user")):
        return []
    login = str(inv.params["user"]).strip()
    realm = _text(inv.params.get("realm")) or users.default_realm(session) or None
    # The user is matched by name, unresolved: the realm is about to change.
    view = policies.view(
        session,
        "authorization",
        MatchContext(realm=realm, user=login, client=inv.client_ip),
    )
    target = view.value("setrealm")
    if target is None:
        return []
    inv.params["realm"] = str(target)
    return view.granting("setrealm")
