"""Follow-up steps of a definition: the workflow's plan (see :mod:`.workflows`).

A scheduled definition may carry an ordered list of steps. When its action ran for a
subject (a swept token or user), a workflow instance starts for that subject; each
step comes due ``delay`` after the previous one ran (the first: after the
definition's action), re-checks **its own conditions** against the subject's
current state with the request path's condition machinery, and runs **its own
action**. A step is stored as::

    {"delay": "14d", "handlermodule": "Token", "action": "disable",
     "options": {}, "conditions": {"last_auth": "194d"},
     "unknown_is_match": false, "condition_expression": ""}

Request-bound definitions carry no steps (refused on save): a request has no subject
that is certain to exist later, and a workflow per request could grow without bound.
Step options are validated on save like a definition's action options; options that
hold secrets (webhook tokens, passwords) are refused in steps, because only a
definition's own options are sealed at rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from factorflow.core import dates
from factorflow.core.params import is_true
from factorflow.events.conditions.base import ConditionRegistry
from factorflow.events.definition import (
    Definition,
    check_action,
    compile_conditions,
    compile_expression,
    compile_options,
    find_handler,
    from_row,
)
from factorflow.events.errors import DefinitionError
from factorflow.events.handlers.base import EventHandler, secret_options
from factorflow.events.models import EventDefinition

#: At most this many steps per definition.
MAX_STEPS = 20
MIN_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(days=366)
_FIELDS = frozenset(
    {
        "delay",
        "handlermodule",
        "action",
        "options",
        "conditions",
        "unknown_is_match",
        "condition_expression",
    }
)


def parse_delay(text: str) -> timedelta:
    """``<n>m|h|d`` between a minute and 366 days (ValueError otherwise)."""
    try:
        delay = dates.parse_duration(text, "mhd")
    except dates.DateError:
        raise ValueError(f"{text[:40]!r} is not a delay like 30m, 12h or 14d") from None
    if not MIN_DELAY <= delay <= MAX_DELAY:
        raise ValueError("a delay is between 1 minute and 366 days")
    return delay


def validate_steps(
    raw: Any,
    handlers: Mapping[str, EventHandler],
    conditions: ConditionRegistry,
    *,
    unknown_is_match: bool,
) -> list[dict[str, Any]]:
    """The steps as stored (normalised), or DefinitionError naming the step and field."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise DefinitionError("Invalid parameter 'steps': a list of steps")
    if len(raw) > MAX_STEPS:
        raise DefinitionError(f"Invalid parameter 'steps': at most {MAX_STEPS} steps")
    return [
        _validate_step(n, step, handlers, conditions, unknown_is_match)
        for n, step in enumerate(raw, 1)
    ]


def _validate_step(
    n: int,
    step: Any,
    handlers: Mapping[str, EventHandler],
    conditions: ConditionRegistry,
    unknown_is_match: bool,
) -> dict[str, Any]:
    where = f"step {n}"
    if not isinstance(step, dict):
        raise DefinitionError(f"Invalid parameter 'steps': {where} is not an object")
    unknown = sorted(str(key) for key in step if key not in _FIELDS)
    if unknown:
        raise DefinitionError(f"Invalid parameter 'steps': {where}: unknown field {unknown[0]!r}")
    try:
        delay = str(step.get("delay", ""))
        parse_delay(delay)
        handler = find_handler(handlers, str(step.get("handlermodule", "")))
        if not handler.schedulable:
            raise DefinitionError(f"{handler.identifier} cannot run outside a request")
        action = check_action(handler, str(step.get("action", "")))
        raw_options = step.get("options") or {}
        raw_conditions = step.get("conditions") or {}
        if not isinstance(raw_options, dict) or not isinstance(raw_conditions, dict):
            raise DefinitionError("options and conditions are objects")
        secret = secret_options(handler.actions[action])
        for key, value in raw_options.items():
            if value and key in secret:
                raise DefinitionError(f"option {key!r} holds a secret, which a step cannot")
        options, _ = compile_options(handler, action, raw_options)
        compiled = compile_conditions(raw_conditions, conditions)
        expression = str(step.get("condition_expression") or "")
        compile_expression(expression, frozenset(c.name for c in compiled))
    except ValueError as exc:
        raise DefinitionError(f"Invalid parameter 'steps': {where}: delay {exc}") from None
    except DefinitionError as exc:
        raise DefinitionError(f"Invalid parameter 'steps': {where}: {exc.message}") from None
    lenient = step.get("unknown_is_match")
    return {
        "delay": delay.strip(),
        "handlermodule": handler.identifier,
        "action": action,
        "options": options,
        "conditions": {c.name: c.raw for c in compiled},
        "unknown_is_match": unknown_is_match
        if lenient is None
        else (lenient if isinstance(lenient, bool) else is_true(lenient)),
        "condition_expression": expression,
    }


def compile_step(
    parent: EventDefinition,
    index: int,
    handlers: Mapping[str, EventHandler],
    conditions: ConditionRegistry,
) -> Definition:
    """Step ``index`` (0-based) of ``parent`` as a definition to run: the parent's id
    (metrics and audit name the definition), the step's action and conditions."""
    step = (parent.steps or [])[index]
    row = EventDefinition(
        id=parent.id,
        uid=parent.uid,
        name=f"{parent.name} / step {index + 1}",
        events=list(parent.events or []),
        handlermodule=step["handlermodule"],
        action=step["action"],
        options=dict(step.get("options") or {}),
        conditions=dict(step.get("conditions") or {}),
        position="post",
        ordering=parent.ordering,
        active=True,
        abort_on_error=False,
        unknown_is_match=bool(step.get("unknown_is_match", parent.unknown_is_match)),
        condition_expression=str(step.get("condition_expression") or ""),
        schedule=parent.schedule,
        sweep=parent.sweep,
    )
    return from_row(row, handlers, conditions=conditions)


def step_delay(parent: EventDefinition, index: int) -> timedelta:
    return parse_delay(str((parent.steps or [])[index]["delay"]))


__all__ = ["MAX_STEPS", "compile_step", "parse_delay", "step_delay", "validate_steps"]
