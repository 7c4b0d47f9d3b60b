"""The ``webui`` scope: how the web UI behaves for the admin or user it matches.

``POST /auth`` answers with the settings privacyIDEA 3.14 answers with there
(:func:`webui_settings`); the login itself reads ``login_mode`` and ``jwt_validity``
(:func:`login_mode`, :func:`jwt_validity`); the login form, before anyone is known,
reads ``realm_dropdown`` from policies that name no user (:func:`login_form`).

Whom a policy matches: a user by realm, user store and login (with the client), an
admin by ``adminuser`` / ``adminrealm``. The other side's fields are given as empty,
not unknown, so that a policy for the users of a realm does not reach the internal
admins, and one for an admin does not reach users.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from factorflow.core.invocation import Actor
from factorflow.policies.matching import MatchContext, PolicyView
from factorflow.policies.service import PolicyService
from factorflow.users.identity import User

LoginMode = Literal["userstore", "privacyIDEA", "disable"]

#: privacyIDEA 3.14's values without a webui policy (its ``POST /auth`` answer).
DEFAULTS: dict[str, Any] = {
    "admin_dashboard": False, "audit_page_size": 10, "container_wizard": {"enabled": False},
    "default_container_type": "generic", "default_tokentype": "hotp",
    "deletion_confirmation": False, "dialog_no_token": False, "hide_buttons": False,
    "hide_welcome": False, "logout_redirect_url": "", "logout_time": 120,
    "policy_template_url": "/static/policy-templates/", "qr_image_android": None,
    "qr_image_custom": None, "qr_image_ios": None, "require_description": [],
    "rss_age": 180, "search_on_enter": False, "session_persistence": "tab",
    "show_node": "", "show_seed": False, "subscription_status": 0,
    "timeout_action": "lockscreen", "token_page_size": 15, "token_rollover": {},
    "token_wizard": False, "token_wizard_2nd": False, "user_details": False,
    "user_page_size": 15,
}  # fmt: skip

#: Answer key ← boolean action (privacyIDEA spells two of them differently).
_FLAGS = {
    "admin_dashboard": "admin_dashboard", "deletion_confirmation": "deletion_confirmation",
    "dialog_no_token": "dialog_no_token", "hide_buttons": "hide_buttons",
    "hide_welcome": "hide_welcome", "search_on_enter": "search_on_enter",
    "show_seed": "show_seed", "token_wizard": "tokenwizard",
    "token_wizard_2nd": "tokenwizard_2nd_token", "user_details": "user_details",
}  # fmt: skip
_VALUES = (
    "audit_page_size", "token_page_size", "user_page_size", "logout_time",
    "timeout_action", "default_tokentype",
)  # fmt: skip


def context(actor: Actor, user: User | None, client: str | None) -> MatchContext:
    """Whom the webui policies are matched against for ``actor``."""
    if actor.is_admin:
        return MatchContext(
            realm="", resolver="", user="", adminuser=actor.username,
            adminrealm=actor.realm, client=client,
        )  # fmt: skip
    return MatchContext(
        realm=user.realm if user else actor.realm,
        resolver=user.resolver if user else None,
        user=user.login if user else actor.username,
        adminuser="",
        adminrealm="",
        client=client,
        userinfo=(lambda: dict(user.attributes)) if user else None,
        facts_key=f"{user.resolver}/{user.uid}" if user else "",
    )


def _view(
    service: PolicyService, session: Session, ctx: MatchContext, now: datetime | None
) -> PolicyView:
    return service.view(session, "webui", ctx, now)


def webui_settings(
    service: PolicyService,
    session: Session,
    actor: Actor,
    user: User | None = None,
    client: str | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """privacyIDEA's WebUI settings of a login answer, decided by the webui policies
    matching ``actor`` (the defaults of :data:`DEFAULTS` where none decides)."""
    out = dict(DEFAULTS)
    if not service.defined(session, "webui"):
        return out
    view = _view(service, session, context(actor, user, client), now)
    for key, action in _FLAGS.items():
        if view.has(action):
            out[key] = True
    for action in _VALUES:
        value = view.value(action)
        if value is not None and not isinstance(value, bool):
            out[action] = value
    return out


def login_mode(
    service: PolicyService, session: Session, user: User, client: str | None = None
) -> LoginMode:
    """How ``user`` logs in to the web UI (``userstore`` unless a policy says otherwise)."""
    if not service.defined(session, "webui"):
        return "userstore"
    actor = Actor(role="user", username=user.login, realm=user.realm)
    value = _view(service, session, context(actor, user, client), None).value("login_mode")
    if value in ("privacyIDEA", "disable"):
        return value  # type: ignore[return-value]
    return "userstore"


def jwt_validity(
    service: PolicyService,
    session: Session,
    actor: Actor,
    user: User | None = None,
    client: str | None = None,
) -> int | None:
    """The JWT lifetime (seconds) a webui policy gives ``actor``; None: the server's."""
    if not service.defined(session, "webui"):
        return None
    value = _view(service, session, context(actor, user, client), None).value("jwt_validity")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def login_form(service: PolicyService, session: Session, client: str | None) -> dict[str, Any]:
    """What the login form shows before anyone is known: the realms of
    ``realm_dropdown`` from the webui policies that match without a user."""
    realms: list[str] = []
    if service.defined(session, "webui"):
        ctx = MatchContext(client=client)
        view = _view(service, session, ctx, None)
        for policy in view.matched:
            if policy.realms or policy.resolvers or policy.users.include:
                continue  # for some users only: the form cannot know whom yet
            value = policy.action.get("realm_dropdown")
            if isinstance(value, str):
                realms.extend(r for r in value.split() if r not in realms)
    return {"realm_dropdown": realms}


def granted_rights(
    service: PolicyService,
    session: Session,
    actor: Actor,
    defaults: list[str],
    *,
    user: User | None = None,
    client: str | None = None,
) -> list[str]:
    """The rights of a login answer (privacyIDEA's ``rights``): what the admin or user
    policies matching ``actor`` grant, in any realm; ``defaults`` when no policy of the
    scope grants anything (then nothing is restricted). The web UI shows or hides
    buttons by it; the server still checks every request on its own objects."""
    scope = "admin" if actor.is_admin else "user"
    if not service.defined(session, scope):
        return list(defaults)
    if actor.is_admin:
        ctx = MatchContext(adminuser=actor.username, adminrealm=actor.realm, client=client)
    else:
        ctx = context(actor, user, client)
        ctx.adminuser = ctx.adminrealm = None
    rights = service.catalog.rights(scope)
    granted: set[str] = set()
    for policy in service.view(session, scope, ctx).matched:
        granted.update(name for name in policy.action if name in rights)
    return sorted(granted)
