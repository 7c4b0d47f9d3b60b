"""``/policy/``: managing policies (admins only), with privacyIDEA's paths and values.

``POST /policy/<name>`` creates or updates (omitted fields are kept) and answers
``{"setPolicy <name>": id}``; every field is validated on save and a bad one is a
400 naming it. Factorflow's earlier action names are accepted and translated, with
``detail.warnings`` saying what became of them. ``PATCH /policy/<name>`` renames
(privacyIDEA 3.14), ``GET /policy/export/<file>`` and ``POST /policy/import/<file>``
write and read privacyIDEA's policy file (:mod:`factorflow.policies.transfer`).
``GET /policy/defs[/<scope>]`` describes the actions from the same catalog that
validates them.
"""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.core.params import is_true
from factorflow.errors import ParameterError
from factorflow.pipeline import Access
from factorflow.policies.actions import SCOPES
from factorflow.policies.matching import MatchContext
from factorflow.policies.service import Saved
from factorflow.policies.transfer import export_text, parse_file

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


class RenameParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    old_name: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64)


class FileParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\\x00-\x1f\"]+$")


class ImportParams(FileParams):
    file: str = Field(min_length=1, max_length=10_000_000)


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` for a download: an ASCII name and, for any other, the
    UTF-8 one (RFC 6266)."""
    plain = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    if plain == filename:
        return f'attachment; filename="{plain}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _warned(saved: Saved, value: object) -> Outcome:
    detail = {"warnings": saved.warnings} if saved.warnings else {}
    return Outcome(value=value, detail=detail)


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
    policies = call.services.policies
    view = policies.view(call.session, p.scope, ctx)
    granting = view.granting(p.action)
    restricted = policies.defined(call.session, p.scope)
    allowed = bool(granting) or (p.scope in ("admin", "user") and not restricted)
    return Outcome(value={"allowed": allowed, "policies": granting, "matching": view.names})


@routes.route("GET", "/policy/export/{filename}", event="policy_list", params=FileParams,
              access=ADMIN)  # fmt: skip
def export(call: Call[FileParams]) -> Outcome:
    """All policies as privacyIDEA's policy file, offered as the download ``filename``."""
    policies = call.services.policies.list(call.session)
    call.audit.info = f"{len(policies)} policies to {call.params.filename}"
    return Outcome(
        value=None,
        raw_body=export_text(policies).encode("utf-8"),
        raw_media_type="text/plain; charset=utf-8",
        raw_headers={"Content-Disposition": attachment(call.params.filename)},
    )


@routes.route("POST", "/policy/import/{filename}", event="policy_write", params=ImportParams,
              access=ADMIN)  # fmt: skip
def import_(call: Call[ImportParams]) -> Outcome:
    """Import the policies of an uploaded policy file (``file``); the value is their number."""
    entries = parse_file(call.params.file)
    saved = call.services.policies.import_file(call.session, entries)
    call.audit.info = f"imported {saved.id} policies from file {call.params.filename}"
    return _warned(saved, saved.id)


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
    saved = call.services.policies.save(call.session, call.params.name, params)
    call.audit.info = call.params.name
    if saved.warnings:
        call.audit.info += f" ({len(saved.warnings)} warnings)"
    return _warned(saved, {f"setPolicy {call.params.name}": saved.id})


@routes.route("PATCH", "/policy/{old_name}", event="policy_write", params=RenameParams,
              access=ADMIN)  # fmt: skip
def rename(call: Call[RenameParams]) -> Outcome:
    """Rename a policy (``name`` is the new name); the value is its id."""
    p = call.params
    call.audit.action_detail = f"{p.old_name} renamed to {p.name}"[:50]
    return Outcome(value=call.services.policies.rename(call.session, p.old_name, p.name))


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
