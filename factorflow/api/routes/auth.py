"""``/auth``: login of local admins and realm users (privacyIDEA's JWT shape), logout,
and the login throttle that admins see and clear (Factorflow's own)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routes.token import enrollable_types
from factorflow.api.routing import Call, Routes
from factorflow.auth.errors import FailedLoginError
from factorflow.auth.login import LoginResult
from factorflow.auth.models import LoginThrottleEntry
from factorflow.core.invocation import Outcome
from factorflow.db.base import utcnow
from factorflow.pipeline import Access
from factorflow.policies.webui import granted_rights, jwt_validity, login_form, webui_settings

routes = Routes("auth")

ADMIN_MENUS = ["tokens", "users", "config", "events", "audit", "components"]
USER_MENUS = ["tokens"]
USER_RIGHTS = [
    "enrollHOTP",
    "enrollTOTP",
    "enable",
    "disable",
    "delete",
    "setpin",
    "setdescription",
]


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


class AuthParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    username: str = Field(min_length=1, max_length=320)
    password: str = Field(max_length=4096)
    realm: str = Field(default="", max_length=120)


def _login_value(call: Call[AuthParams], result: LoginResult) -> dict[str, Any]:
    actor = result.actor
    policies, session, client = call.services.policies, call.session, call.inv.client_ip
    defaults, menus = (
        (sorted(policies.catalog.rights("admin")), ADMIN_MENUS)
        if actor.is_admin
        else (USER_RIGHTS, USER_MENUS)
    )
    rights = granted_rights(policies, session, actor, defaults, user=result.user, client=client)
    token = call.services.auth.issue(
        actor,
        rights=rights,
        credential_version=result.credential_version,
        validity_seconds=jwt_validity(policies, session, actor, result.user, client),
    )
    return {
        **webui_settings(policies, session, actor, result.user, client),
        "token": token,
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
    call.audit.user = p.username
    try:
        result = call.services.logins.login(
            call.session, p.username, p.password, p.realm, call.inv.client_ip
        )
    except FailedLoginError as exc:
        if exc.user is not None:
            call.audit.note_user(exc.user.login, exc.user.realm, exc.user.resolver)
        call.audit.info = exc.audit_info[:1000]
        raise
    if result.actor.is_admin:
        call.audit.user = ""
        call.audit.administrator = result.actor.username
    elif result.user is not None:
        call.audit.note_user(result.user.login, result.user.realm, result.user.resolver)
    return Outcome(value=_login_value(call, result), authentication="ACCEPT")


@routes.route("DELETE", "/auth", event="auth_logout", params=NoParams, access=Access.AUTHENTICATED)
def logout(call: Call[NoParams]) -> Outcome:
    """Log out: the JWT sent with this request is refused from now on (Factorflow)."""
    assert call.inv.authorization is not None  # AUTHENTICATED: the pipeline checked it
    credentials = call.services.auth.verify(call.inv.authorization)
    call.services.session_guard.revoke(call.session, credentials, utcnow())
    return Outcome(value=True)


class LockoutListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    scope: Literal["", "account", "client"] = ""


class LockoutIdParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    lockout_id: int = Field(ge=1, le=2**62)


def describe_lockout(row: LoginThrottleEntry) -> dict[str, Any]:
    assert row.blocked_until is not None
    return {
        "id": row.id,
        "scope": row.scope,
        "subject": row.subject,
        "state": "lockout" if row.lockout else "backoff",
        "failures": row.failures,
        "until": row.blocked_until.isoformat(),
        "last_failure": row.last_failure.isoformat(),
    }


@routes.route(
    "GET", "/auth/lockouts/", event="auth_lockout_list", params=LockoutListParams,
    access=Access.ADMIN,
)  # fmt: skip
def list_lockouts(call: Call[LockoutListParams]) -> Outcome:
    """Accounts and client addresses whose logins are refused now (backoff or lockout)."""
    rows = call.services.logins.throttle.blocked(call.session, call.params.scope)
    return Outcome(value=[describe_lockout(row) for row in rows])


@routes.route(
    "DELETE", "/auth/lockouts/{lockout_id}", event="auth_lockout_delete",
    params=LockoutIdParams, access=Access.ADMIN,
)  # fmt: skip
def clear_lockout(call: Call[LockoutIdParams]) -> Outcome:
    """Clear a backoff or lockout: its failures are forgotten, logins are admitted."""
    row = call.services.logins.throttle.clear(call.session, call.params.lockout_id)
    call.audit.action_detail = f"{row.scope}={row.subject}"[:255]
    return Outcome(value=True)


@routes.route(
    "GET", "/auth/rights", event="auth_rights", params=NoParams, access=Access.AUTHENTICATED
)
def rights(call: Call[NoParams]) -> Outcome:
    """The token types the logged-in admin or user may enrol, with their descriptions."""
    types = call.services.tokens.types
    return Outcome(value={t: types[t].summary() for t in enrollable_types(call)})


@routes.route(
    "GET", "/auth/login_settings", event="auth_login_settings", params=NoParams,
    access=Access.PUBLIC,
)  # fmt: skip
def login_settings(call: Call[NoParams]) -> Outcome:
    """What the login form shows before anyone is known (Factorflow; privacyIDEA renders
    it into its page): the realms of the webui policies' ``realm_dropdown``."""
    return Outcome(value=login_form(call.services.policies, call.session, call.inv.client_ip))
