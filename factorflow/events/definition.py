"""A definition as the engine uses it: validated, compiled and immutable.

The same compile functions check a definition on save (raising
:class:`DefinitionError` that names the bad field, so nothing invalid is stored)
and build the cached form, in which options are a validated pydantic model,
conditions are parsed (regexes compiled, comparisons split) and the optional
condition expression is a tree.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from factorflow.core.compare import ComparisonError, check_now_offsets
from factorflow.core.untrusted import json_loads
from factorflow.events import limits
from factorflow.events.conditions import CONDITIONS
from factorflow.events.conditions.base import Condition, ConditionRegistry
from factorflow.events.conditions.expression import ExpressionError, Node, parse_expression
from factorflow.events.errors import ActionError, DefinitionError
from factorflow.events.handlers.base import (
    ActionContext,
    ActionOptions,
    EventHandler,
    secret_options,
)
from factorflow.events.models import EventDefinition

POSITIONS = ("post", "pre")
_SECRET_WORDS = ("password", "secret", "token", "key")
_HEADER_WORDS = ("auth", "cookie", "signature", "credential", "session")


@dataclass(frozen=True)
class CompiledCondition:
    name: str
    raw: str
    condition: Condition[Any]
    value: Any


@dataclass(frozen=True)
class Definition:
    id: int
    name: str
    events: tuple[str, ...]
    handlermodule: str
    #: The module's registered instance.
    handler: EventHandler
    action: str
    options_raw: Mapping[str, str]
    options: ActionOptions
    conditions: tuple[CompiledCondition, ...]
    position: str
    ordering: int
    active: bool
    abort_on_error: bool
    unknown_is_match: bool
    condition_expression: str
    expression: Node | None
    #: The schedule expression of a scheduled definition ("" for request-bound ones).
    schedule: str = ""
    #: ``tokens`` or ``users`` for a scheduled definition.
    sweep: str = ""
    #: Follow-up steps as stored (:mod:`factorflow.events.steps`); () for none.
    steps: tuple[Mapping[str, Any], ...] = ()
    #: The blast-radius guard's limits (0 = the system default).
    max_subjects: int = 0
    max_share: int = 0
    #: Whether the request the action performs runs its event's definitions.
    chain_events: bool = False

    @property
    def scheduled(self) -> bool:
        return bool(self.schedule)

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.ordering, self.id)

    def redacted_options(self) -> dict[str, str]:
        """The options for the audit and dry runs: the action's declared secrets
        ``***``, a URL without its user:password; the other declared options as they
        are (``To tokenowner`` is no credential, whatever its name says). Options the
        action does not declare are judged by :func:`redact`'s name heuristic."""
        model = self.handler.actions[self.action]
        secret = secret_options(model)
        declared = {info.alias or name for name, info in model.model_fields.items()}
        out: dict[str, str] = {}
        for key, value in self.options_raw.items():
            if key in secret:
                out[key] = "***" if value else ""
            elif key in declared:
                out[key] = _redact_url_value(str(value)) if key.lower() == "url" else str(value)
            else:
                out.update(redact({key: value}))
        return out


def _is_secret(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_WORDS)


def _redact_headers(text: str) -> str:
    """A JSON object of HTTP headers: credential-like header values → ``***``."""
    try:
        headers = json_loads(text, "headers") if text.strip() else {}
    except ValueError:
        return "***"
    if not isinstance(headers, dict):
        return "***"
    return json.dumps(
        {
            str(name): "***"
            if _is_secret(str(name)) or any(w in str(name).lower() for w in _HEADER_WORDS)
            else value
            for name, value in headers.items()
        },
        sort_keys=True,
    )


def _redact_url(text: str) -> str:
    """A URL without its user:password part."""
    parts = urlsplit(text)
    if parts.password is None and parts.username is None:
        return text
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _redact_url_value(text: str) -> str:
    try:
        return _redact_url(text)
    except ValueError:
        return "***"


def redact(options: Mapping[str, Any]) -> dict[str, str]:
    """Options for the audit: values of options whose name suggests a secret → ``***``;
    in a ``headers`` option the credential-like headers (Authorization, Cookie, ...),
    in a URL its user:password part."""
    out: dict[str, str] = {}
    for key, value in options.items():
        if _is_secret(key):
            out[key] = "***"
        elif key.lower() == "headers":
            out[key] = _redact_headers(str(value))
        elif key.lower() == "url":
            out[key] = _redact_url_value(str(value))
        else:
            out[key] = str(value)
    return out


def find_handler(handlers: Mapping[str, EventHandler], module: str) -> EventHandler:
    try:
        return handlers[module]
    except KeyError:
        known = ", ".join(handlers)
        raise DefinitionError(f"Unknown handler module: {module!r} (known: {known})") from None


def check_action(handler: EventHandler, action: str) -> str:
    canonical = handler.canonical_action(action)
    if canonical is None:
        allowed = ", ".join(handler.actions)
        raise DefinitionError(
            f"Invalid parameter 'action': {action!r} is not an action of {handler.identifier} "
            f"(allowed: {allowed})"
        )
    return canonical


def check_position(handler: EventHandler, position: str) -> str:
    if position not in handler.positions:
        allowed = ", ".join(handler.positions)
        raise DefinitionError(
            f"Invalid parameter 'position': {position!r} is not allowed for "
            f"{handler.identifier} (allowed: {allowed})"
        )
    return position


def _field_by_key(model: type[ActionOptions], key: str) -> tuple[str, str] | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return name, info.alias or name
    return None


def _is_text(annotation: Any) -> bool:
    return annotation is str or str in typing.get_args(annotation)


def _multiline(info: Any) -> bool:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    return extra.get("ui_type") == "text"


def _check_option_text(where: str, text: str, info: Any) -> None:
    """The bounds every option value keeps (:mod:`factorflow.events.limits`): size,
    control characters (single-line options none, multi-line ones tab/CR/LF only) and
    ``{now}`` offsets, whatever the option's own model checks besides."""
    try:
        limits.check_text(
            f"the value of {where!r}", text, limits.MAX_OPTION_VALUE, multiline=_multiline(info)
        )
        check_now_offsets(text)
    except (ValueError, ComparisonError) as exc:
        raise DefinitionError(f"Invalid option {where!r}: {exc}") from None


def compile_options(
    handler: EventHandler, action: str, raw: Mapping[str, Any]
) -> tuple[dict[str, str], ActionOptions]:
    """Validate ``raw`` against the action's model (its validators get the handler's
    :meth:`~EventHandler.options_context`); returns the options keyed by their
    canonical (privacyIDEA) names and the model instance."""
    model = handler.actions[action]
    canonical: dict[str, str] = {}
    data: dict[str, Any] = {}
    total = 0
    for key, value in raw.items():
        found = _field_by_key(model, str(key))
        if found is None:
            known = ", ".join(repr(i.alias or n) for n, i in model.model_fields.items()) or "none"
            raise DefinitionError(
                f"Unknown option {key!r} for {handler.identifier}:{action} (known: {known})"
            )
        name, alias = found
        info = model.model_fields[name]
        text = "" if value is None else str(value)
        _check_option_text(alias, text, info)
        total += len(text)
        if total > limits.MAX_OPTIONS_TOTAL:
            raise DefinitionError(
                f"Invalid option {alias!r}: all options together are longer than "
                f"{limits.MAX_OPTIONS_TOTAL} characters"
            )
        canonical[alias] = text
        # An empty form field means "not set" for optional non-text options.
        if text == "" and not info.is_required() and not _is_text(info.annotation):
            continue
        data[alias] = text
    try:
        options = model.model_validate(data, context=handler.options_context())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "options"
        if first["type"] == "missing":
            raise DefinitionError(
                f"Missing option {where!r} for {handler.identifier}:{action}"
            ) from None
        raise DefinitionError(
            f"Invalid option {where!r} for {handler.identifier}:{action}: {first['msg']}"
        ) from None
    return canonical, options


def compile_conditions(
    raw: Mapping[str, Any], registry: ConditionRegistry = CONDITIONS
) -> tuple[CompiledCondition, ...]:
    compiled = []
    for name, value in raw.items():
        condition = registry.get(name)
        if condition is None:
            raise DefinitionError(f"Unknown condition {name!r}")
        text = "" if value is None else str(value)
        try:
            limits.check_text("the value", text, limits.MAX_CONDITION_VALUE)
            parsed = condition.parse(text)
        except ValueError as exc:
            raise DefinitionError(f"Invalid condition {name!r}: {exc}") from None
        compiled.append(CompiledCondition(name, text, condition, parsed))
    return tuple(compiled)


def compile_expression(text: str, names: frozenset[str]) -> Node | None:
    try:
        limits.check_text("the expression", text, limits.MAX_EXPRESSION)
    except ValueError as exc:
        raise DefinitionError(f"Invalid parameter 'condition_expression': {exc}") from None
    try:
        return parse_expression(text, names)
    except ExpressionError as exc:
        raise DefinitionError(f"Invalid parameter 'condition_expression': {exc}") from None


def from_row(
    row: EventDefinition,
    handlers: Mapping[str, EventHandler],
    *,
    options: Mapping[str, Any] | None = None,
    conditions: ConditionRegistry = CONDITIONS,
) -> Definition:
    """Compile a stored row (with ``options`` instead of the stored ones: its secrets
    opened; with the registered ``conditions``); raises DefinitionError if it no longer
    validates."""
    handler = find_handler(handlers, row.handlermodule)
    action = check_action(handler, row.action)
    stored = (row.options or {}) if options is None else options
    options_raw, compiled_options = compile_options(handler, action, stored)
    compiled = compile_conditions(row.conditions or {}, conditions)
    expression = compile_expression(
        row.condition_expression or "", frozenset(c.name for c in compiled)
    )
    return Definition(
        id=row.id,
        name=row.name,
        # A repeated event (stored before it was refused) still runs only once.
        events=tuple(dict.fromkeys(row.events or ())),
        handlermodule=row.handlermodule,
        handler=handler,
        action=action,
        options_raw=options_raw,
        options=compiled_options,
        conditions=compiled,
        position=row.position or "post",
        ordering=row.ordering,
        active=row.active,
        abort_on_error=bool(row.abort_on_error),
        unknown_is_match=row.unknown_is_match,
        condition_expression=row.condition_expression or "",
        expression=expression,
        schedule=row.schedule or "",
        sweep=row.sweep or "",
        steps=tuple(row.steps or ()),
        max_subjects=row.max_subjects or 0,
        max_share=row.max_share or 0,
        chain_events=bool(row.chain_events),
    )


class UnrunnableOptions(ActionOptions):
    reason: str = ""


class _EveryAction(dict[str, type[ActionOptions]]):
    def __missing__(self, key: str) -> type[ActionOptions]:
        return UnrunnableOptions


class UnrunnableHandler(EventHandler):
    """Stands in for an active stored definition that no longer compiles (its script
    was removed, its module uninstalled, an option no longer validates): it fires
    like the definition would — by its conditions if they still compile, else on every
    request of its events — and fails with the reason. So the failure is audited, and
    a definition with ``abort_on_error`` still aborts its request: a guard whose script
    is gone fails closed, not open."""

    identifier = "__unrunnable__"
    actions = _EveryAction()
    schedulable = False

    def run(self, ctx: ActionContext, action: str, options: ActionOptions) -> None:
        assert isinstance(options, UnrunnableOptions)
        ctx.run_details = f"cannot run: {options.reason}"[:200]
        raise ActionError(f"the definition cannot run: {options.reason}")


UNRUNNABLE = UnrunnableHandler()


def unrunnable(row: EventDefinition, reason: str, conditions: ConditionRegistry) -> Definition:
    """The stand-in of ``row``, which failed to compile with ``reason``."""
    try:
        compiled = compile_conditions(row.conditions or {}, conditions)
        expression = compile_expression(
            row.condition_expression or "", frozenset(c.name for c in compiled)
        )
    except DefinitionError:
        compiled, expression = (), None  # cannot tell when it applies: always
    return Definition(
        id=row.id,
        name=row.name,
        events=tuple(dict.fromkeys(row.events or ())),
        handlermodule=row.handlermodule,
        handler=UNRUNNABLE,
        action=row.action,
        options_raw={},
        options=UnrunnableOptions(reason=reason),
        conditions=compiled,
        position=row.position or "post",
        ordering=row.ordering,
        active=row.active,
        abort_on_error=bool(row.abort_on_error),
        unknown_is_match=row.unknown_is_match,
        condition_expression="" if expression is None else row.condition_expression or "",
        expression=expression,
        schedule=row.schedule or "",
        sweep=row.sweep or "",
    )


def serialize(row: EventDefinition, *, bookkeeping: bool = True) -> dict[str, Any]:
    """privacyIDEA's serialized binding plus Factorflow's fields. A scheduled
    definition adds ``schedule`` and ``sweep`` and (with ``bookkeeping``, not in
    history snapshots) the scheduler's ``next_run_at`` / ``last_run_at``; request-bound
    definitions keep the shape privacyIDEA clients know."""
    out: dict[str, Any] = {
        "id": row.id,
        "uid": row.uid,
        "name": row.name,
        "active": row.active,
        "ordering": row.ordering,
        "position": row.position or "post",
        "abort_on_error": bool(row.abort_on_error),
        "handlermodule": row.handlermodule,
        "action": row.action,
        "condition": "",
        "event": list(row.events or []),
        "options": dict(row.options or {}),
        "conditions": dict(row.conditions or {}),
        "unknown_is_match": row.unknown_is_match,
        "condition_expression": row.condition_expression or "",
    }
    if row.chain_events:
        out["chain_events"] = True
    if row.schedule:
        out["schedule"] = row.schedule
        out["sweep"] = row.sweep
        if row.steps:
            out["steps"] = [dict(step) for step in row.steps]
        if row.max_subjects:
            out["max_subjects"] = row.max_subjects
        if row.max_share:
            out["max_share"] = row.max_share
        if bookkeeping:
            out["next_run_at"] = _iso(row.next_run_at)
            out["last_run_at"] = _iso(row.last_run_at)
    return out


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None
