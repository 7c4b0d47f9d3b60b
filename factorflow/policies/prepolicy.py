"""Enrollment policies applied to ``POST /token/init`` before the token service runs.

Like privacyIDEA's pre-policies this works on the request parameters: it refuses
an enrolment beyond ``max_token_per_user`` / ``max_token_per_realm`` or with a PIN
the PIN rules refuse, and replaces ``otplen`` / ``hashlib`` / ``timeStep`` with the
forced per-type values. Called by the pipeline's authorizer once the actor may
enrol at all. The QR code's issuer and label need the token service's hook
(``EnrollPolicy.issuer`` / ``label``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factorflow.core.invocation import Invocation
from factorflow.errors import FactorflowError
from factorflow.policies.decide import RequestPolicies
from factorflow.policies.matching import MatchContext
from factorflow.tokens.access import TokenAccess
from factorflow.tokens.models import TokenRealm
from factorflow.users.identity import User
from factorflow.users.models import Realm

if TYPE_CHECKING:
    from factorflow.bootstrap import Services


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _realm_count(session: Session, realm: str) -> int:
    stmt = (
        select(func.count(TokenRealm.id))
        .join(Realm, Realm.id == TokenRealm.realm_id)
        .where(func.lower(Realm.name) == realm.lower())
    )
    return int(session.scalar(stmt) or 0)


def apply_enrollment(services: Services, inv: Invocation, session: Session) -> list[str]:
    """Check and adjust a ``token_init`` request; returns the deciding policies' names."""
    if inv.event != "token_init":
        return []
    params = inv.params
    user = _user(services, inv, session)
    realm = user.realm if user else _text(params.get("realm"))
    decided = RequestPolicies(services.policies, session, inv.client_ip).enrollment(user, realm)
    if not decided.names:
        return []
    pin = params.get("pin")
    decided.check_pin(pin if isinstance(pin, str) else None)
    serial = _text(params.get("serial"))
    if serial is None or TokenAccess.find(session, serial) is None:
        user_count = len(services.tokens.access.user_tokens(session, user)) if user else None
        realm_count = _realm_count(session, realm) if realm else None
        decided.check_counts(user_count, realm_count)
    kind = str(params.get("type") or "hotp").strip().lower()
    params.update(decided.forced_params(kind))
    return list(decided.names)


def _user(services: Services, inv: Invocation, session: Session) -> User | None:
    login = inv.actor.username if inv.actor.is_user else _text(inv.params.get("user"))
    realm = inv.actor.realm if inv.actor.is_user else _text(inv.params.get("realm"))
    if not login:
        return None
    try:
        return services.users.resolve(session, login, realm or "")
    except FactorflowError:
        return None  # the token service reports the unknown user


def apply_setrealm(services: Services, inv: Invocation, session: Session) -> list[str]:
    """``/validate/check`` with the authorization policy ``setrealm``: authenticate the
    user in the policy's realm instead of the requested one (privacyIDEA's pre-policy)."""
    if inv.event != "validate_check" or not _text(inv.params.get("user")):
        return []
    login = str(inv.params["user"]).strip()
    realm = _text(inv.params.get("realm")) or services.users.default_realm(session) or None
    # The user is matched by name, unresolved: the realm is about to change.
    view = services.policies.view(
        session,
        "authorization",
        MatchContext(realm=realm, user=login, client=inv.client_ip),
    )
    target = view.value("setrealm")
    if target is None:
        return []
    inv.params["realm"] = str(target)
    return view.granting("setrealm")
