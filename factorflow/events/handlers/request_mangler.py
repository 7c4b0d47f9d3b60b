"""RequestMangler: change the request's parameters (reference §4.6).

A pre definition's change is seen by the service call and every later
definition; a post definition's only by later post definitions.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from factorflow.core.safe_regex import check_pattern, too_long
from factorflow.events.handlers.base import ActionContext, ActionOptions, EventHandler

_PLACEHOLDER = re.compile(r"\{(\d{1,2})\}")
_USER_PARAMETERS = frozenset({"user", "realm", "username"})


class DeleteOptions(ActionOptions):
    parameter: str = Field(
        title="Parameter", min_length=1, max_length=255, description="The parameter to remove"
    )


class SetOptions(ActionOptions):
    parameter: str = Field(
        title="Parameter", min_length=1, max_length=255, description="The parameter to set"
    )
    value: str = Field(
        title="New value", max_length=4000, description="The new value; {0}, {1} are match groups"
    )
    match_parameter: str = Field(
        title="Only when this parameter",
        default="",
        max_length=255,
        description="Only set when this parameter matches",
    )
    match_pattern: str = Field(
        title="Matches this pattern",
        default="",
        max_length=1000,
        description="Regular expression the whole value must match",
    )
    reset_user: bool = Field(
        title="Determine the user again", default=False, description="Determine the user anew"
    )

    @field_validator("match_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        check_pattern(value)
        return value


def fill_groups(template: str, groups: tuple[str | None, ...]) -> str | None:
    """Replace {0}, {1} ... by match groups; None if a group is missing. Only numbered
    placeholders are touched (never ``str.format``)."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        index = int(match.group(1))
        if index >= len(groups):
            missing = True
            return match.group(0)
        return groups[index] or ""

    out = _PLACEHOLDER.sub(replace, template)
    return None if missing else out


class RequestManglerHandler(EventHandler):
    identifier = "RequestMangler"
    description = "Delete or set request parameters."
    schedulable = False  # a scheduled run has no request and no response
    actions = {"delete": DeleteOptions, "set": SetOptions}

    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        params = ctx.inv.params
        if isinstance(options, DeleteOptions):
            params.pop(options.parameter, None)
            return
        assert isinstance(options, SetOptions)
        if options.match_parameter:
            current = params.get(options.match_parameter)
            if not isinstance(current, str):
                ctx.run_details = "match parameter absent"
                return
            match = None if too_long(current) else re.fullmatch(options.match_pattern, current)
            if match is None:
                ctx.run_details = "no match"
                return
            value = fill_groups(options.value, match.groups())
            if value is None:
                ctx.run_details = "too few match groups"
                return
        else:
            value = options.value
        params[options.parameter] = value
        if options.reset_user and options.parameter in _USER_PARAMETERS:
            ctx.facts.reset_user()
