"""/resolver: user-store configurations (admins only).

Every option of a store is a free parameter named as privacyIDEA names it
(``fileName``, ``Table``, ``Map``, ...); the store's options model validates them.
Secret options come back as ``__CENSORED__``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.core.params import is_true
from factorflow.pipeline import Access

routes = Routes("resolver")

#: Parameters of the request itself, never store options.
_NOT_OPTIONS = frozenset({"resolver", "type", "nonce"})


def store_fields(params: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in (params.model_extra or {}).items() if k not in _NOT_OPTIONS}


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


class ResolverListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    resolver: str = Field(default="", max_length=120)
    type: str = Field(default="", max_length=64)
    editable: str = Field(default="", max_length=10)


class ResolverWriteParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    resolver: str = Field(min_length=1, max_length=120)
    type: str = Field(min_length=1, max_length=64)


class ResolverTestParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1, max_length=64)
    #: The name of a stored resolver whose secrets fill in censored values.
    resolver: str = Field(default="", max_length=120)


class ResolverTypeParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    resolvertype: str = Field(min_length=1, max_length=64)


class ResolverNameParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    resolver: str = Field(min_length=1, max_length=120)


# Before GET /resolver/{resolver}: a resolver named "types" is read with ?resolver=types.
@routes.route(
    "GET", "/resolver/types", "/resolver/types/", event="resolver_list", params=NoParams,
    access=Access.ADMIN,
)  # fmt: skip
def resolver_types(call: Call[NoParams]) -> Outcome:
    """The user-store types with their descriptions and option descriptors (Factorflow)."""
    return Outcome(value=call.services.users.resolvers.describe_types())


@routes.route(
    "GET", "/resolver/", "/resolver/{resolver}", event="resolver_list", params=ResolverListParams,
    access=Access.ADMIN,
)  # fmt: skip
def list_resolvers(call: Call[ResolverListParams]) -> Outcome:
    """List resolvers (secrets censored), optionally one, one type, or (not) editable."""
    p = call.params
    editable = is_true(p.editable) if p.editable else None
    value = call.services.users.list_resolvers(
        call.session, name=p.resolver, type_name=p.type, editable=editable
    )
    return Outcome(value=value)


# Registered before POST /resolver/{resolver} so that "test" is not taken as a name.
@routes.route(
    "POST", "/resolver/test", event="resolver_test", params=ResolverTestParams, access=Access.ADMIN
)
def test_resolver(call: Call[ResolverTestParams]) -> Outcome:
    """Check a resolver configuration against its backend without saving it."""
    p = call.params
    result = call.services.users.test_resolver(
        call.session, p.type, store_fields(p), name=p.resolver
    )
    return Outcome(value=result.ok, detail={"description": result.message})


@routes.route(
    "GET", "/resolver/{resolvertype}/default", event="resolver_defaults",
    params=ResolverTypeParams, access=Access.ADMIN,
)  # fmt: skip
def default_config(call: Call[ResolverTypeParams]) -> Outcome:
    """The options of a new resolver of a type with their defaults (privacyIDEA 3.14)."""
    resolvers = call.services.users.resolvers
    return Outcome(value=resolvers.default_config(call.params.resolvertype))


@routes.route(
    "POST",
    "/resolver/{resolver}",
    event="resolver_write",
    params=ResolverWriteParams,
    access=Access.ADMIN,
)
def save_resolver(call: Call[ResolverWriteParams]) -> Outcome:
    """Create or update a resolver."""
    p = call.params
    call.audit.resolver = p.resolver
    call.audit.action_detail = f"type={p.type}"
    rid = call.services.users.save_resolver(call.session, p.resolver, p.type, store_fields(p))
    return Outcome(value=rid)


@routes.route(
    "DELETE",
    "/resolver/{resolver}",
    event="resolver_delete",
    params=ResolverNameParams,
    access=Access.ADMIN,
)
def delete_resolver(call: Call[ResolverNameParams]) -> Outcome:
    """Delete a resolver that no realm contains."""
    call.audit.resolver = call.params.resolver
    call.services.users.delete_resolver(call.session, call.params.resolver)
    return Outcome(value=True)
