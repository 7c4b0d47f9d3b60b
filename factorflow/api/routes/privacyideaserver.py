"""/privacyideaserver: remote privacyIDEA-compatible servers, the targets of the
Federation handler, and a test ``/validate/check`` against one (admins only).

Parameters as privacyIDEA names them (``url``, ``tls`` — verify the certificate,
default on —, ``description``) plus ``timeout`` (seconds). The test request takes
``identifier`` or an inline ``url``/``tls``/``timeout``, and ``user`` (or
``username``), ``realm`` and ``password``; the password goes to the remote only.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.describe import describe_options
from factorflow.core.invocation import Outcome
from factorflow.federation.service import RemoteServerOptions
from factorflow.pipeline import Access

routes = Routes("privacyideaserver")

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

    #: A stored server to ask; an inline ``url`` overrides it.
    identifier: str = Field(default="", max_length=120)
    user: str = Field(default="", max_length=255)
    username: str = Field(default="", max_length=255)


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


# Before GET /privacyideaserver/{identifier}: a server named "options" is read with
# ?identifier=options.
@routes.route(
    "GET", "/privacyideaserver/options", event="privacyideaserver_list", params=NoParams,
    access=Access.ADMIN,
)  # fmt: skip
def server_options(call: Call[NoParams]) -> Outcome:
    """The descriptors of a remote server's options (Factorflow)."""
    return Outcome(value=describe_options(RemoteServerOptions))


@routes.route(
    "GET", "/privacyideaserver/", "/privacyideaserver/{identifier}",
    event="privacyideaserver_list", params=ServerListParams, access=Access.ADMIN,
)  # fmt: skip
def list_servers(call: Call[ServerListParams]) -> Outcome:
    """List remote privacyIDEA servers by identifier, or one."""
    federation = call.services.federation
    return Outcome(value=federation.list_servers(call.session, call.params.identifier))


# Registered before POST /privacyideaserver/{identifier} so that it is not taken as a name.
@routes.route(
    "POST", "/privacyideaserver/test_request", event="privacyideaserver_test",
    params=ServerTestParams, access=Access.ADMIN,
)  # fmt: skip
def test_request(call: Call[ServerTestParams]) -> Outcome:
    """Send a /validate/check to a stored or inline remote server and report the result."""
    p = call.params
    call.audit.action_detail = f"identifier={p.identifier}" if p.identifier else "inline"
    fields = {**options(p), "user": p.user or p.username}
    accepted, detail = call.services.federation.test_request(
        call.session, identifier=p.identifier, fields=fields
    )
    return Outcome(value=accepted, detail=detail)


@routes.route(
    "POST", "/privacyideaserver/{identifier}", event="privacyideaserver_write",
    params=ServerIdentifierParams, access=Access.ADMIN,
)  # fmt: skip
def save_server(call: Call[ServerIdentifierParams]) -> Outcome:
    """Create or replace a remote privacyIDEA server."""
    p = call.params
    call.audit.action_detail = f"identifier={p.identifier}"
    return Outcome(value=call.services.federation.save(call.session, p.identifier, options(p)))


@routes.route(
    "DELETE", "/privacyideaserver/{identifier}", event="privacyideaserver_delete",
    params=ServerIdentifierParams, access=Access.ADMIN,
)  # fmt: skip
def delete_server(call: Call[ServerIdentifierParams]) -> Outcome:
    """Delete a remote privacyIDEA server that no Federation definition uses."""
    call.audit.action_detail = f"identifier={call.params.identifier}"
    call.services.federation.delete(call.session, call.params.identifier)
    return Outcome(value=True)
