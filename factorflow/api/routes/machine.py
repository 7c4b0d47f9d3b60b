"""/machine: machines, the tokens attached to them for applications, and the
authentication items machines fetch (privacyIDEA's paths and parameters).

Attaching needs ``manage_machine_tokens`` on the token: an admin limited to some
realms attaches only tokens there (the authorizer checks ``serial`` like every
token request); the listing of links is narrowed to those realms.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.machines.applications import describe_applications
from factorflow.machines.base import MachineFilter
from factorflow.machines.service import AttachRequest, Target
from factorflow.policies.decide import RequestPolicies

routes = Routes("machine")

#: Parameters that name the link; the others of an attachment are its options.
_NOT_OPTIONS = frozenset(
    {"serial", "application", "hostname", "machineid", "resolver", "mtid", "nonce"}
)


def link_options(params: BaseModel) -> dict[str, str]:
    return {k: str(v) for k, v in (params.model_extra or {}).items() if k not in _NOT_OPTIONS}


class _Free(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class MachineListParams(_Free):
    hostname: str = Field(default="", max_length=255)
    ip: str = Field(default="", max_length=64)
    id: str = Field(default="", max_length=255)
    resolver: str = Field(default="", max_length=120)
    any: str = Field(default="", max_length=255)


class _Where(_Free):
    hostname: str = Field(default="", max_length=255)
    machineid: str = Field(default="", max_length=255)
    resolver: str = Field(default="", max_length=120)

    def target(self) -> Target:
        return Target(self.hostname, self.machineid, self.resolver)


class AttachParams(_Where):
    serial: str = Field(min_length=1, max_length=64)
    application: str = Field(min_length=1, max_length=64)


class DetachParams(_Where):
    serial: str = Field(min_length=1, max_length=64)
    application: str = Field(min_length=1, max_length=64)
    mtid: int | None = Field(default=None, ge=1)


class LinkListParams(_Where):
    serial: str = Field(default="", max_length=64)
    application: str = Field(default="", max_length=64)


class TokenOptionParams(_Where):
    serial: str = Field(min_length=1, max_length=64)
    application: str = Field(min_length=1, max_length=64)
    mtid: int | None = Field(default=None, ge=1)


class AuthItemParams(_Free):
    application: str = Field(default="", max_length=64)
    hostname: str = Field(default="", max_length=255)
    service_id: str = Field(default="", max_length=120)
    user: str = Field(default="", max_length=120)
    challenge: str = Field(default="", max_length=255)


@routes.route("GET", "/machine/", event="machine_list", params=MachineListParams)
def list_machines(call: Call[MachineListParams]) -> Outcome:
    """List the machines of every machine resolver (or one), filtered."""
    p = call.params
    wanted = MachineFilter(hostname=p.hostname, ip=p.ip, id=p.id, any=p.any)
    return Outcome(value=call.services.machines.list_machines(call.session, wanted, p.resolver))


@routes.route("GET", "/machine/applications", event="machine_list", params=_Free)
def applications(call: Call[_Free]) -> Outcome:
    """The applications a token can be attached for, with the descriptors of their
    options (Factorflow; privacyIDEA serves none)."""
    return Outcome(value=describe_applications())


@routes.route("POST", "/machine/token", event="machine_token_attach", params=AttachParams)
def attach(call: Call[AttachParams]) -> Outcome:
    """Attach a token to a machine (or a service id) for an application; the value is
    the id of the link."""
    p = call.params
    req = AttachRequest(p.serial, p.application, p.target(), link_options(p))
    link = call.services.machines.attach(call.session, req)
    call.audit.note_token(p.serial, link.token.tokentype)
    call.audit.action_detail = f"application={p.application}"
    return Outcome(value=link.id)


@routes.route(
    "DELETE", "/machine/token/{serial}/{machineid}/{resolver}/{application}",
    "/machine/token/{serial}/{application}/{mtid}",
    event="machine_token_detach", params=DetachParams,
)  # fmt: skip
def detach(call: Call[DetachParams]) -> Outcome:
    """Detach a token from a machine for an application (or the link ``mtid``)."""
    p = call.params
    call.audit.note_token(p.serial)
    removed = call.services.machines.detach(
        call.session, p.serial, p.application, target=p.target(), mtid=p.mtid
    )
    return Outcome(value=removed)


@routes.route("GET", "/machine/token", event="machine_token_list", params=LinkListParams)
def list_links(call: Call[LinkListParams]) -> Outcome:
    """List token links, filtered by serial, machine and application."""
    p = call.params
    policies = RequestPolicies(call.services.policies, call.session, call.inv.client_ip)
    realms = policies.admin_realms(call.actor, "manage_machine_tokens")
    value = call.services.machines.links(
        call.session, serial=p.serial, application_name=p.application, target=p.target(),
        realms=realms,
    )  # fmt: skip
    return Outcome(value=value)


@routes.route("POST", "/machine/tokenoption", event="machine_tokenoption", params=TokenOptionParams)
def token_option(call: Call[TokenOptionParams]) -> Outcome:
    """Set options of a link; an option sent empty is deleted. The value is the number
    of options set or deleted."""
    p = call.params
    options = link_options(p)
    call.audit.note_token(p.serial)
    changed = call.services.machines.set_link_options(
        call.session, p.serial, p.application, target=p.target(), mtid=p.mtid,
        values={k: v for k, v in options.items() if v != ""},
        delete=[k for k, v in options.items() if v == ""],
    )  # fmt: skip
    return Outcome(value=changed)


def _auth_items(call: Call[AuthItemParams]) -> Outcome:
    p = call.params
    items: dict[str, Any] = call.services.machines.auth_items(
        call.session, p.application, hostname=p.hostname, service_id=p.service_id,
        user=p.user, challenge=p.challenge,
    )  # fmt: skip
    return Outcome(value=items)


# Fetching offline values moves token counters: a write, although a GET.
@routes.route(
    "GET", "/machine/authitem", "/machine/authitem/{application}",
    event="machine_authitem", params=AuthItemParams, writes=True,
)  # fmt: skip
def auth_items(call: Call[AuthItemParams]) -> Outcome:
    """The authentication items of a machine (hostname) or service id: ssh keys,
    offline values, LUKS challenge-response material."""
    return _auth_items(call)
