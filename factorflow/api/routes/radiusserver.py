"""/radiusserver: RADIUS server configurations, the targets of ``radius`` tokens, and
a test Access-Request (admins only).

Parameters as privacyIDEA 3.14 names them (``server``, ``port``, ``secret``,
``dictionary``, ``description``, ``timeout``, ``retries``); lists leave the secret
out. The test request takes ``identifier`` (a stored server) and/or the inline
options, and ``username`` and ``password``; the password goes to the RADIUS server
only.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.describe import describe_options
from factorflow.core.invocation import Outcome
from factorflow.pipeline import Access
from factorflow.radius.service import RadiusServerOptions

routes = Routes("radiusserver")

_NOT_OPTIONS = frozenset({"identifier", "nonce"})


def options(params: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in (params.model_extra or {}).items() if k not in _NOT_OPTIONS}


class ServerListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    identifier: str = Field(default="", max_length=120)


class ServerIdentifierParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    identifier: str = Field(min_length=1, max_length=120)


class ServerTestParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    identifier: str = Field(default="", max_length=120)


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


# Before GET /radiusserver/{identifier}: a server named "options" is read with ?identifier=.
@routes.route(
    "GET", "/radiusserver/options", event="radiusserver_list", params=NoParams,
    access=Access.ADMIN,
)  # fmt: skip
def server_options(call: Call[NoParams]) -> Outcome:
    """The descriptors of a RADIUS server's options (Factorflow)."""
    return Outcome(value=describe_options(RadiusServerOptions))


@routes.route(
    "GET", "/radiusserver/", "/radiusserver/{identifier}", event="radiusserver_list",
    params=ServerListParams, access=Access.ADMIN,
)  # fmt: skip
def list_servers(call: Call[ServerListParams]) -> Outcome:
    """List RADIUS server configurations (without secrets), or one."""
    return Outcome(value=call.services.radius.list_servers(call.session, call.params.identifier))


# Registered before POST /radiusserver/{identifier} so that it is not taken as a name.
@routes.route(
    "POST", "/radiusserver/test_request", event="radiusserver_test", params=ServerTestParams,
    access=Access.ADMIN,
)  # fmt: skip
def test_request(call: Call[ServerTestParams]) -> Outcome:
    """Send an Access-Request to a stored or inline RADIUS server and report the reply."""
    p = call.params
    call.audit.action_detail = f"identifier={p.identifier}" if p.identifier else "inline"
    accepted, detail = call.services.radius.test_request(
        call.session, identifier=p.identifier, fields=options(p)
    )
    return Outcome(value=accepted, detail=detail)


@routes.route(
    "POST", "/radiusserver/{identifier}", event="radiusserver_write",
    params=ServerIdentifierParams, access=Access.ADMIN,
)  # fmt: skip
def save_server(call: Call[ServerIdentifierParams]) -> Outcome:
    """Create or replace a RADIUS server configuration."""
    p = call.params
    call.audit.action_detail = f"identifier={p.identifier}"
    return Outcome(value=call.services.radius.save(call.session, p.identifier, options(p)))


@routes.route(
    "DELETE", "/radiusserver/{identifier}", event="radiusserver_delete",
    params=ServerIdentifierParams, access=Access.ADMIN,
)  # fmt: skip
def delete_server(call: Call[ServerIdentifierParams]) -> Outcome:
    """Delete a RADIUS server configuration."""
    call.audit.action_detail = f"identifier={call.params.identifier}"
    call.services.radius.delete(call.session, call.params.identifier)
    return Outcome(value=True)
