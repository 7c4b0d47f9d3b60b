"""/realm and /defaultrealm: realms of resolvers (admins only)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.core.params import PiBool, split_list
from factorflow.errors import ParameterError
from factorflow.pipeline import Access

routes = Routes("realm")

PRIORITY_PREFIX = "priority."
MAX_PRIORITY = 999_999

ResolverNames = (
    Annotated[str, Field(max_length=4096)]
    | Annotated[list[Annotated[str, Field(max_length=120)]], Field(max_length=100)]
)


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


class RealmWriteParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    realm: str = Field(min_length=1, max_length=120)
    resolvers: ResolverNames = ""


class RealmParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    realm: str = Field(min_length=1, max_length=120)


class RealmDeleteParams(RealmParams):
    delete_custom_attributes: PiBool = False


def priorities(params: BaseModel) -> dict[str, int | None]:
    """``priority.<resolver>`` parameters as resolver → priority."""
    found: dict[str, int | None] = {}
    for key, raw in (params.model_extra or {}).items():
        if not key.startswith(PRIORITY_PREFIX):
            continue
        name = key[len(PRIORITY_PREFIX) :]
        if raw in ("", None):
            found[name] = None
            continue
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ParameterError(f"Invalid parameter {key[:140]!r}: not an integer") from None
        if not 0 <= value <= MAX_PRIORITY:
            raise ParameterError(f"Invalid parameter {key[:140]!r}: use 0-{MAX_PRIORITY}")
        found[name] = value
    return found


@routes.route("GET", "/realm/", event="realm_list", params=NoParams, access=Access.ADMIN)
def list_realms(call: Call[NoParams]) -> Outcome:
    """List realms with their resolvers and the default flag."""
    return Outcome(value=call.services.users.list_realms(call.session))


@routes.route("GET", "/realm/superuser", event="realm_list", params=NoParams, access=Access.ADMIN)
def superuser_realms(call: Call[NoParams]) -> Outcome:
    """Superuser realms: Factorflow's admins are local accounts, so none."""
    return Outcome(value={})


@routes.route(
    "POST", "/realm/{realm}", event="realm_write", params=RealmWriteParams, access=Access.ADMIN
)
def save_realm(call: Call[RealmWriteParams]) -> Outcome:
    """Create a realm or replace its resolvers and priorities."""
    p = call.params
    names = split_list(p.resolvers)
    if len(names) > 100:
        raise ParameterError("Invalid parameter 'resolvers': at most 100 resolvers")
    call.audit.realm = p.realm
    call.audit.action_detail = f"resolvers={','.join(names)}"[:250]
    added, failed = call.services.users.save_realm(call.session, p.realm, names, priorities(p))
    return Outcome(value={"added": added, "failed": failed})


@routes.route(
    "DELETE", "/realm/{realm}", event="realm_delete", params=RealmDeleteParams, access=Access.ADMIN
)
def delete_realm(call: Call[RealmDeleteParams]) -> Outcome:
    """Delete a realm (its custom user attributes only with delete_custom_attributes)."""
    p = call.params
    call.audit.realm = p.realm
    call.services.users.delete_realm(
        call.session, p.realm, delete_custom_attributes=p.delete_custom_attributes
    )
    return Outcome(value=True)


@routes.route(
    "GET", "/defaultrealm", event="defaultrealm_get", params=NoParams, access=Access.ADMIN
)
def get_default_realm(call: Call[NoParams]) -> Outcome:
    """The default realm as {name: realm}, or {} when there is none."""
    return Outcome(value=call.services.users.get_default_realm(call.session))


@routes.route(
    "POST",
    "/defaultrealm/{realm}",
    event="defaultrealm_set",
    params=RealmParams,
    access=Access.ADMIN,
)
def set_default_realm(call: Call[RealmParams]) -> Outcome:
    """Make a realm the default realm."""
    call.audit.realm = call.params.realm
    call.services.users.set_default_realm(call.session, call.params.realm)
    return Outcome(value=True)


@routes.route(
    "DELETE", "/defaultrealm", event="defaultrealm_delete", params=NoParams, access=Access.ADMIN
)
def clear_default_realm(call: Call[NoParams]) -> Outcome:
    """Leave the server without a default realm."""
    call.services.users.clear_default_realm(call.session)
    return Outcome(value=True)
