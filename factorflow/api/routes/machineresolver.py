"""/machineresolver: machine-resolver configurations (admins only).

Options are free parameters named as privacyIDEA names them (``filename``,
``LDAPURI``, ...); the type's options model validates them. Secrets come back as
``__CENSORED__``. An unknown type or an unreadable backend is a 400 (privacyIDEA
answers those with a 500).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.pipeline import Access

routes = Routes("machineresolver")

#: Parameters of the request itself, never resolver options.
_NOT_OPTIONS = frozenset({"resolver", "name", "type", "nonce"})


def resolver_fields(params: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in (params.model_extra or {}).items() if k not in _NOT_OPTIONS}


class ListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    resolver: str = Field(default="", max_length=120)


class WriteParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    resolver: str = Field(min_length=1, max_length=120)
    type: str = Field(min_length=1, max_length=64)


class TestParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1, max_length=64)
    #: A stored resolver whose secrets fill in censored values.
    name: str = Field(default="", max_length=120)


class NameParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    resolver: str = Field(min_length=1, max_length=120)


@routes.route(
    "GET", "/machineresolver/types", event="machineresolver_list", params=ListParams,
    access=Access.ADMIN,
)  # fmt: skip
def types(call: Call[ListParams]) -> Outcome:
    """The machine-resolver types with their option descriptors (Factorflow)."""
    return Outcome(value=call.services.machines.resolvers.describe_types())


@routes.route(
    "GET", "/machineresolver/", "/machineresolver/{resolver}", event="machineresolver_list",
    params=ListParams, access=Access.ADMIN,
)  # fmt: skip
def list_resolvers(call: Call[ListParams]) -> Outcome:
    """List machine resolvers (secrets censored), or one."""
    catalog, name = call.services.machines.resolvers, call.params.resolver
    rows = [catalog.get(call.session, name)] if name else catalog.all(call.session)
    return Outcome(value={row.name: catalog.describe(row) for row in rows})


# Before POST /machineresolver/{resolver}, so that "test" is not taken as a name.
@routes.route(
    "POST", "/machineresolver/test", event="machineresolver_test", params=TestParams,
    access=Access.ADMIN,
)  # fmt: skip
def test_resolver(call: Call[TestParams]) -> Outcome:
    """Read a machine-resolver configuration's backend without saving it."""
    p = call.params
    resolver = call.services.machines.resolvers.candidate(
        call.session, p.name, p.type, resolver_fields(p)
    )
    resolver.verify_config()
    ok, message = resolver.test()
    return Outcome(value=ok, detail={"description": message})


@routes.route(
    "POST", "/machineresolver/{resolver}", event="machineresolver_write", params=WriteParams,
    access=Access.ADMIN,
)  # fmt: skip
def save_resolver(call: Call[WriteParams]) -> Outcome:
    """Create or update a machine resolver; the value is its id."""
    p = call.params
    call.audit.action_detail = f"machineresolver={p.resolver} type={p.type}"[:200]
    row = call.services.machines.resolvers.save(
        call.session, p.resolver, p.type, resolver_fields(p)
    )
    return Outcome(value=row.id)


@routes.route(
    "DELETE", "/machineresolver/{resolver}", event="machineresolver_delete", params=NameParams,
    access=Access.ADMIN,
)  # fmt: skip
def delete_resolver(call: Call[NameParams]) -> Outcome:
    """Delete a machine resolver that no token is attached through."""
    call.audit.action_detail = f"machineresolver={call.params.resolver}"[:200]
    call.services.machines.resolvers.delete(call.session, call.params.resolver)
    return Outcome(value=True)
