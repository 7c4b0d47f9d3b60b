"""POST /auth: login of local admins and realm users; returns privacyIDEA's JWT shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Routes
from factorflow.core.invocation import Actor, Outcome
from factorflow.errors import AuthError, UserError
from factorflow.pipeline import Access, Call
from factorflow.users.errors import StoreUnavailableError

routes = Routes("auth")

ADMIN_MENUS = ["tokens", "users", "config", "events", "audit", "components"]
USER_MENUS = ["tokens"]
ADMIN_RIGHTS = [
    "enrollHOTP", "enrollTOTP", "enrollSPASS", "enrollREGISTRATION", "enrollPAPER",
    "enable", "disable", "delete", "reset", "resync", "setpin", "setdescription",
    "assign", "unassign", "tokenlist", "tokenrealms", "set", "userlist", "auditlog",
    "resolverread", "resolverwrite", "resolverdelete", "configread", "configwrite",
    "eventhandling_read", "eventhandling_write",
]  # fmt: skip
USER_RIGHTS = [
    "enrollHOTP",
    "enrollTOTP",
    "enable",
    "disable",
    "delete",
    "setpin",
    "setdescription",
]

WRONG_CREDENTIALS = "Authentication failure. Wrong credentials"


class AuthParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    username: str = Field(min_length=1, max_length=320)
    password: str = Field(max_length=4096)
    realm: str = Field(default="", max_length=120)


def webui_settings() -> dict[str, Any]:
    """The WebUI settings privacyIDEA 3.14 adds to a login answer, at their defaults
    (no webui policies): scripts and UIs written for privacyIDEA read them."""
    return {
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


def _login_value(
    call: Call[AuthParams], actor: Actor, rights: list[str], menus: list[str]
) -> dict[str, Any]:
    return {
        **webui_settings(),
        "token": call.services.auth.issue(actor, rights=rights),
        "role": actor.role,
        "username": actor.username,
        "realm": actor.realm,
        "log_level": 20,
        "rights": rights,
        "menus": menus,
        "auth": True,
    }


@routes.route("POST", "/auth", event="auth", params=AuthParams, access=Access.PUBLIC)
def login(call: Call[AuthParams]) -> Outcome:
    """Log in an admin or a realm user and issue a JWT."""
    p = call.params
    services = call.services
    call.audit.user = p.username
    if not p.realm and "@" not in p.username and services.admins.exists(call.session, p.username):
        if not services.admins.check_password(call.session, p.username, p.password):
            raise AuthError(WRONG_CREDENTIALS)
        actor = Actor(role="admin", username=p.username)
        call.audit.user = ""
        call.audit.administrator = p.username
        return Outcome(
            value=_login_value(call, actor, ADMIN_RIGHTS, ADMIN_MENUS), authentication="ACCEPT"
        )
    try:
        user = services.users.resolve(call.session, p.username, p.realm)
        call.audit.note_user(user.login, user.realm, user.resolver)
        if not p.password or not services.users.check_password(call.session, user, p.password):
            raise AuthError(WRONG_CREDENTIALS)
    except (UserError, StoreUnavailableError) as exc:
        # A user store that cannot be reached is a failed login for the client (401,
        # no hint about the directory); the reason goes to the audit for the operator.
        call.audit.info = exc.message
        raise AuthError(WRONG_CREDENTIALS) from None
    actor = Actor(role="user", username=user.login, realm=user.realm)
    return Outcome(
        value=_login_value(call, actor, USER_RIGHTS, USER_MENUS), authentication="ACCEPT"
    )
