"""/caconnector: CA connectors of certificate tokens (admins only).

As privacyIDEA: ``GET /caconnector/[<name>]`` lists them (``connectorname``,
``type``, ``data`` with the options, the CA key ``__CENSORED__``, and ``templates``),
``POST /caconnector/<name>`` with ``type=local`` creates or updates one,
``DELETE /caconnector/<name>`` deletes one; the rights are privacyIDEA's
``caconnectorread``, ``caconnectorwrite`` and ``caconnectordelete``. Factorflow's
``GET /caconnector/<name>/crl`` answers the CA's current CRL (PEM), signed anew when
it is due. privacyIDEA tags none of these with an event; their events here are
``caconnector_read``, ``caconnector_write``, ``caconnector_delete`` and
``caconnector_crl``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.describe import describe_options
from factorflow.core.invocation import Outcome
from factorflow.pipeline import Access
from factorflow.tokens.ca.options import LocalCAOptions

routes = Routes("caconnector")

#: Parameters of the request itself, never connector options.
_NOT_OPTIONS = frozenset({"name", "caconnector", "type", "nonce"})


def options(params: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in (params.model_extra or {}).items() if k not in _NOT_OPTIONS}


class ListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(default="", max_length=120)


class WriteParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=120)
    type: str = Field(default="local", min_length=1, max_length=30)


class NameParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=120)


# Before GET /caconnector/{name}: a connector named "options" is read with ?name=.
@routes.route(
    "GET", "/caconnector/options", event="caconnector_read", params=ListParams,
    access=Access.ADMIN,
)  # fmt: skip
def connector_options(call: Call[ListParams]) -> Outcome:
    """The descriptors of a local CA connector's options (Factorflow)."""
    return Outcome(value={"local": describe_options(LocalCAOptions)})


@routes.route(
    "GET", "/caconnector/", "/caconnector/{name}", event="caconnector_read", params=ListParams,
    access=Access.ADMIN,
)  # fmt: skip
def list_connectors(call: Call[ListParams]) -> Outcome:
    """List the CA connectors (the CA keys censored), or one."""
    call.audit.action_detail = call.params.name
    return Outcome(value=call.services.caconnectors.list(call.session, call.params.name))


@routes.route(
    "GET", "/caconnector/{name}/crl", event="caconnector_crl", params=NameParams,
    access=Access.ADMIN, writes=True,
)  # fmt: skip
def crl(call: Call[NameParams]) -> Outcome:
    """The CA connector's current certificate revocation list (Factorflow)."""
    call.audit.action_detail = call.params.name
    return Outcome(value=call.services.caconnectors.crl(call.session, call.params.name))


@routes.route(
    "POST", "/caconnector/{name}", event="caconnector_write", params=WriteParams,
    access=Access.ADMIN,
)  # fmt: skip
def save_connector(call: Call[WriteParams]) -> Outcome:
    """Create or update a CA connector; the value is its id."""
    p = call.params
    call.audit.action_detail = f"{p.name} type={p.type}"[:200]
    return Outcome(value=call.services.caconnectors.save(call.session, p.name, p.type, options(p)))


@routes.route(
    "DELETE", "/caconnector/{name}", event="caconnector_delete", params=NameParams,
    access=Access.ADMIN,
)  # fmt: skip
def delete_connector(call: Call[NameParams]) -> Outcome:
    """Delete a CA connector that no certificate token names."""
    call.audit.action_detail = call.params.name
    call.services.caconnectors.delete(call.session, call.params.name)
    return Outcome(value=True)
