"""``/tokengroup/``: named token groups (admin only)."""

from __future__ import annotations

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.pipeline import Access
from factorflow.tokens.requests import TokenGroupListRequest, TokenGroupRequest

routes = Routes("tokengroup")


@routes.route(
    "POST", "/tokengroup/{groupname}", event="tokengroup_add", params=TokenGroupRequest,
    access=Access.ADMIN,
)  # fmt: skip
def add(call: Call[TokenGroupRequest]) -> Outcome:
    """Create a token group (or update its description); the value is its id."""
    p = call.params
    return Outcome(value=call.services.tokens.groups.add(call.session, p.groupname, p.description))


@routes.route(
    "GET", "/tokengroup/", "/tokengroup/{groupname}", event="tokengroup_list",
    params=TokenGroupListRequest, access=Access.ADMIN,
)  # fmt: skip
def list_groups(call: Call[TokenGroupListRequest]) -> Outcome:
    """List token groups as {name: {id, description}}."""
    groups = call.services.tokens.groups
    return Outcome(value=groups.describe(call.session, call.params.groupname))


@routes.route(
    "DELETE", "/tokengroup/{groupname}", event="tokengroup_delete", params=TokenGroupRequest,
    access=Access.ADMIN,
)  # fmt: skip
def delete(call: Call[TokenGroupRequest]) -> Outcome:
    """Delete a token group; its memberships go with it."""
    groups = call.services.tokens.groups
    return Outcome(value=groups.delete(call.session, call.params.groupname))
