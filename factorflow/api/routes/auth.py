"""POST /auth: login of local admins and realm users; returns privacyIDEA's JWT shape."""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Routes
from factorflow.core.invocation import Actor, Outcome
from factorflow.errors import AuthError, UserError
from factorflow.pipeline import Access, Call
from factorflow.policies.decide import RequestPolicies
from factorflow.tokens.base import TokenType
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


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


class AuthParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    username: str = Field(min_length=1, max_length=320)
    password: str = Field(max_length=4096)
    realm: str = Field(default="", max_length=120)


def _login_value(
    call: Call[AuthParams], actor: Actor, rights: list[str], menus: list[str]
) -> dict[str, Any]:
    return {
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


def _type_description(type_cls: type[TokenType]) -> str:
    doc = (sys.modules[type_cls.__module__].__doc__ or "").strip().splitlines()
    return doc[0].rstrip(".") if doc else type_cls.type_name.upper()


@routes.route(
    "GET", "/auth/rights", event="auth_rights", params=NoParams, access=Access.AUTHENTICATED
)
def rights(call: Call[NoParams]) -> Outcome:
    """The token types the logged-in admin or user may enrol, with their descriptions."""
    types = call.services.tokens.types
    policies = RequestPolicies(call.services.policies, call.session, call.inv.client_ip)
    allowed = policies.enrollable(call.actor, {t: types[t].self_service for t in types})
    return Outcome(value={t: _type_description(types[t]) for t in allowed})
