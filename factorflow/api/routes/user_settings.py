"""/user/settings: the web UI settings of the logged-in principal (privacyIDEA 3.14).

A realm user or a local admin reads, merges, replaces and deletes its own settings
object; the JWT's identity names it, so no one reaches another principal's settings
and no right is needed (privacyIDEA's events ``user_settings_get`` / ``_set`` /
``_delete``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.core.params import PiBool
from factorflow.core.untrusted import json_loads
from factorflow.errors import ParameterError
from factorflow.pipeline import Access
from factorflow.users.web_settings import Principal

routes = Routes("user_settings")


class SettingsGetParams(BaseModel):
    model_config = ConfigDict(extra="allow")


class SettingsSetParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    #: The settings object (or its JSON text); without it the other parameters are
    #: the settings.
    settings: dict[str, Any] | str | None = None
    replace: PiBool = False


class SettingsDeleteParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    key: str | None = Field(default=None, min_length=1, max_length=255)


def principal(call: Call[Any]) -> Principal:
    actor = call.actor
    return Principal("admin" if actor.is_admin else "user", actor.username, actor.realm)


def given_settings(params: SettingsSetParams) -> dict[str, Any]:
    if params.settings is None:
        return dict(params.model_extra or {})
    value = (
        json_loads(params.settings, "settings")
        if isinstance(params.settings, str)
        else params.settings
    )
    if not isinstance(value, dict):
        raise ParameterError("Invalid parameter 'settings': must be a JSON object")
    return value


@routes.route(
    "GET", "/user/settings", event="user_settings_get", params=SettingsGetParams,
    access=Access.AUTHENTICATED,
)  # fmt: skip
def get_settings(call: Call[SettingsGetParams]) -> Outcome:
    """The caller's settings ({} when none are stored)."""
    return Outcome(value=call.services.user_settings.get(call.session, principal(call)))


@routes.route(
    "POST", "/user/settings", event="user_settings_set", params=SettingsSetParams,
    access=Access.AUTHENTICATED,
)  # fmt: skip
def set_settings(call: Call[SettingsSetParams]) -> Outcome:
    """Merge the given settings into the caller's (``replace=1``: replace them all);
    the answer is the stored result."""
    given = given_settings(call.params)
    if not given and not call.params.replace:
        raise ParameterError("Missing parameter: 'settings'")
    call.audit.action_detail = ", ".join(sorted(given))[:255]
    stored = call.services.user_settings.set(
        call.session, principal(call), given, replace=call.params.replace
    )
    return Outcome(value=stored)


@routes.route(
    "DELETE", "/user/settings", "/user/settings/{key}", event="user_settings_delete",
    params=SettingsDeleteParams, access=Access.AUTHENTICATED,
)  # fmt: skip
def delete_settings(call: Call[SettingsDeleteParams]) -> Outcome:
    """Delete one setting (``/user/settings/<key>``) or all; whether any was deleted."""
    key = call.params.key
    call.audit.action_detail = key or "all"
    return Outcome(value=call.services.user_settings.delete(call.session, principal(call), key))
