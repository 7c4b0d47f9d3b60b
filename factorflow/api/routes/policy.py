"""``/policy/``: managing policies (admins only), with privacyIDEA's paths and values.

``POST /policy/<name>`` creates or updates (omitted fields are kept) and answers
``{"setPolicy <name>": id}``; every field is validated on save and a bad one is a
400 naming it. ``GET /policy/defs[/<scope>]`` describes the actions from the same
catalog that validates them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Routes
from factorflow.core.invocation import Outcome
from factorflow.core.params import is_true
from factorflow.errors import ParameterError
from factorflow.pipeline import Access, Call
from factorflow.policies.actions import SCOPES
from factorflow.policies.matching import MatchContext

routes = Routes("policy")
ADMIN = Access.ADMIN


class ListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    scope: str | None = Field(default=None, max_length=32)
    active: str | None = Field(default=None, max_length=10)


class NameParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=64)


class ScopeParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    scope: str | None = Field(default=None, max_length=32)


class CheckParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    scope: str = Field(max_length=32)
    action: str = Field(max_length=120)
    realm: str | None = Field(default=None, max_length=64)
    resolver: str | None = Field(default=None, max_length=120)
    user: str | None = Field(default=None, max_length=255)
    adminrealm: str | None = Field(default=None, max_length=64)
    adminuser: str | None = Field(default=None, max_length=255)
    client: str | None = Field(default=None, max_length=64)


@routes.route("GET", "/policy/defs", "/policy/defs/{scope}", event="policy_list",
              params=ScopeParams, access=ADMIN)  # fmt: skip
def defs(call: Call[ScopeParams]) -> Outcome:
    """The actions of a scope with their value types (all scopes without one)."""
    catalog = call.services.policies.catalog
    if call.params.scope:
        return Outcome(value=catalog.describe(call.params.scope))
    return Outcome(value={scope: catalog.describe(scope) for scope in SCOPES})


@routes.route("GET", "/policy/check", event="policy_check", params=CheckParams, access=ADMIN)
def check(call: Call[CheckParams]) -> Outcome:
    """Which policies would apply to a request with these attributes (now)."""
    p = call.params
    if p.scope not in SCOPES:
        raise ParameterError("Invalid parameter 'scope': unknown scope")
    ctx = MatchContext(
        realm=p.realm, resolver=p.resolver, user=p.user, adminrealm=p.adminrealm,
        adminuser=p.adminuser, client=p.client,
    )  # fmt: skip
    view = call.services.policies.view(call.session, p.scope, ctx)
    granting = view.granting(p.action)
    allowed = bool(granting) or (p.scope in ("admin", "user") and not view.defined)
    return Outcome(value={"allowed": allowed, "policies": granting, "matching": view.names})


@routes.route("GET", "/policy/", "/policy/{name}", event="policy_list", params=ListParams,
              access=ADMIN)  # fmt: skip
def list_policies(call: Call[ListParams]) -> Outcome:
    """All policies (filtered by ``scope`` / ``active``), or one by name."""
    policies = call.services.policies
    name = call.inv.params.get("name")
    if isinstance(name, str) and name:
        return Outcome(value=policies.get(call.session, name))
    found = policies.list(call.session, call.params.scope)
    if call.params.active not in (None, ""):
        wanted = is_true(call.params.active)
        found = [p for p in found if p["active"] == wanted]
    return Outcome(value=found)


@routes.route("POST", "/policy/{name}", event="policy_write", params=NameParams, access=ADMIN)
def save(call: Call[NameParams]) -> Outcome:
    """Create or update a policy."""
    params = {k: v for k, v in call.inv.params.items() if k not in ("name", "nonce")}
    policy_id = call.services.policies.save(call.session, call.params.name, params)
    call.audit.info = call.params.name
    return Outcome(value={f"setPolicy {call.params.name}": policy_id})


@routes.route("DELETE", "/policy/{name}", event="policy_delete", params=NameParams, access=ADMIN)
def delete(call: Call[NameParams]) -> Outcome:
    """Delete a policy."""
    call.audit.info = call.params.name
    return Outcome(value=call.services.policies.delete(call.session, call.params.name))


@routes.route("POST", "/policy/enable/{name}", event="policy_enable", params=NameParams,
              access=ADMIN)  # fmt: skip
def enable(call: Call[NameParams]) -> Outcome:
    """Activate a policy."""
    call.audit.info = call.params.name
    return Outcome(value=call.services.policies.set_active(call.session, call.params.name, True))


@routes.route("POST", "/policy/disable/{name}", event="policy_disable", params=NameParams,
              access=ADMIN)  # fmt: skip
def disable(call: Call[NameParams]) -> Outcome:
    """Deactivate a policy."""
    call.audit.info = call.params.name
    return Outcome(value=call.services.policies.set_active(call.session, call.params.name, False))
