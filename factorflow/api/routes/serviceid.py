"""/serviceid: the services whose SSH servers fetch the keys attached to them
(privacyIDEA 3.10's service ids)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome

routes = Routes("serviceid")


class ListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(default="", max_length=120)


class WriteParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=255)


class NameParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=120)


@routes.route("GET", "/serviceid/", "/serviceid/{name}", event="serviceid_list", params=ListParams)
def list_serviceids(call: Call[ListParams]) -> Outcome:
    """List service ids, or one."""
    return Outcome(value=call.services.machines.list_serviceids(call.session, call.params.name))


@routes.route("POST", "/serviceid/{name}", event="serviceid_add", params=WriteParams)
def save_serviceid(call: Call[WriteParams]) -> Outcome:
    """Create or update a service id; the value is its id."""
    p = call.params
    return Outcome(value=call.services.machines.save_serviceid(call.session, p.name, p.description))


@routes.route("DELETE", "/serviceid/{name}", event="serviceid_delete", params=NameParams)
def delete_serviceid(call: Call[NameParams]) -> Outcome:
    """Delete a service id no ssh key is attached to."""
    call.services.machines.delete_serviceid(call.session, call.params.name)
    return Outcome(value=True)
