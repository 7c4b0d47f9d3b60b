"""ResponseMangler: delete or set a value in the JSON response (reference §4.7).

The JSON pointer addresses the envelope's ``result`` and ``detail``
(``/detail/message``, ``/result/value``); 1 to 3 segments, empty ones ignored.
Post position only.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from factorflow.core.invocation import ErrorReply, Outcome, Reply
from factorflow.events.errors import ActionError
from factorflow.events.facts import response_view
from factorflow.events.handlers.base import ActionContext, ActionOptions, EventHandler


def _segments(pointer: str) -> list[str]:
    return [part for part in pointer.split("/") if part]


class _Pointer(ActionOptions):
    pointer: str = Field(
        title="JSON pointer",
        alias="JSON pointer",
        min_length=1,
        max_length=500,
        description="e.g. /detail/message",
    )

    @field_validator("pointer")
    @classmethod
    def _shape(cls, value: str) -> str:
        parts = _segments(value)
        if not 1 <= len(parts) <= 3:
            raise ValueError("a JSON pointer has 1 to 3 segments, e.g. /detail/message")
        if parts[0] not in ("result", "detail"):
            raise ValueError("a JSON pointer starts with /result or /detail")
        return value


class DeleteOptions(_Pointer):
    pass


class SetOptions(_Pointer):
    type: Literal["string", "integer", "bool"] = Field(
        title="Value type", description="The type of the value"
    )
    value: str = Field(title="Value", max_length=4000, description="The value")


def _typed(options: SetOptions) -> Any:
    if options.type == "integer":
        try:
            return int(options.value)
        except ValueError:
            raise ActionError("the value is not an integer") from None
    if options.type == "bool":
        return options.value.strip().lower() in ("1", "true")
    return options.value


def rebuild(view: dict[str, Any], old: Reply) -> Reply:
    """Turn a (mangled) envelope view back into a reply, keeping the HTTP status."""
    result = view.get("result") if isinstance(view.get("result"), dict) else {}
    detail = view.get("detail")
    error = result.get("error") if isinstance(result, dict) else None
    if old.error is not None:
        code = error.get("code", old.error.code) if isinstance(error, dict) else old.error.code
        message = error.get("message", "") if isinstance(error, dict) else ""
        return Reply(
            error=ErrorReply(
                code=code,
                message=str(message),
                status=old.error.status,
                detail=detail if isinstance(detail, dict) else None,
            )
        )
    assert old.outcome is not None
    outcome = Outcome(
        value=result.get("value") if isinstance(result, dict) else None,
        detail=detail if isinstance(detail, dict) else {},
        authentication=result.get("authentication") if isinstance(result, dict) else None,
        status=old.outcome.status,
        raw_body=old.outcome.raw_body,
        raw_media_type=old.outcome.raw_media_type,
    )
    return Reply(outcome=outcome)


class ResponseManglerHandler(EventHandler):
    identifier = "ResponseMangler"
    description = "Delete or set values in the JSON response."
    schedulable = False  # a scheduled run has no request and no response
    positions = ("post",)
    actions = {"delete": DeleteOptions, "set": SetOptions}

    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        assert isinstance(options, _Pointer)
        reply = ctx.reply
        view = response_view(reply)
        if reply is None or view is None:
            raise ActionError("there is no response to change")
        outcome = reply.outcome
        if outcome is not None and (outcome.raw_body is not None or outcome.raw_stream is not None):
            ctx.run_details = "not a JSON response"
            return
        *parents, last = _segments(options.pointer)
        node: Any = view
        for part in parents:
            if not isinstance(node, dict):
                raise ActionError("the path crosses a value that is not an object")
            if not isinstance(node.get(part), dict):
                if isinstance(options, DeleteOptions):
                    ctx.run_details = "no such element"
                    return
                node[part] = {}
            node = node[part]
        if isinstance(options, SetOptions):
            node[last] = _typed(options)
        elif last in node:
            del node[last]
        else:
            ctx.run_details = "no such element"
            return
        ctx.reply = rebuild(view, reply)
