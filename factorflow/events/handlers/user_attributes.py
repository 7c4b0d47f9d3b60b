"""CustomUserAttributes: set or delete a custom attribute of a user (reference §4.9).

The target is the request's user (``tokenowner``) or the logged-in principal
(``logged_in_user``); a target that cannot be determined fails the action.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from factorflow.errors import FactorflowError
from factorflow.events.errors import ActionError
from factorflow.events.handlers.base import ActionContext, ActionOptions, EventHandler, Template
from factorflow.users.identity import User

Target = Literal["tokenowner", "logged_in_user"]


class SetOptions(ActionOptions):
    user: Target = Field(
        title="Whose attribute", default="tokenowner", description="Whose attribute"
    )
    attrkey: str = Field(
        title="Attribute name", min_length=1, max_length=255, description="The attribute name"
    )
    attrvalue: Template = Field(
        title="Attribute value", default="", max_length=2000, description="The value; tags allowed"
    )


class DeleteOptions(ActionOptions):
    user: Target = Field(
        title="Whose attribute", default="tokenowner", description="Whose attribute"
    )
    attrkey: str = Field(
        title="Attribute name", min_length=1, max_length=255, description="The attribute name"
    )


def _target(ctx: ActionContext, which: Target) -> User:
    if which == "tokenowner":
        user = ctx.facts.user
    else:
        actor = ctx.inv.actor
        user = None
        if actor.is_user:
            try:
                user = ctx.ports.users.resolve(ctx.session, actor.username, actor.realm)
            except FactorflowError:
                user = None
    if user is None:
        raise ActionError(f"no {which} to change")
    return user


class CustomUserAttributesHandler(EventHandler):
    identifier = "CustomUserAttributes"
    description = "Set or delete custom attributes of users."
    actions = {
        "set_custom_user_attributes": SetOptions,
        "delete_custom_user_attributes": DeleteOptions,
    }

    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        assert isinstance(options, SetOptions | DeleteOptions)
        user = _target(ctx, options.user)
        users = ctx.ports.users
        if isinstance(options, SetOptions):
            users.set_custom_attribute(
                ctx.session, user, options.attrkey, ctx.render(options.attrvalue)
            )
        elif not users.delete_custom_attribute(ctx.session, user, options.attrkey):
            ctx.run_details = "attribute not set"
