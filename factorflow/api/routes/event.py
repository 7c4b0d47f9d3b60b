"""``/event/``: managing event definitions (admin only), privacyIDEA's API with its
quirks fixed (an update keeps omitted fields; options and conditions are validated on
save), plus dry runs and history. ``GET /event/<id>`` answers as privacyIDEA does: a
list of one definition, ``[]`` for an unknown id (scripts read ``value[0]``).

Scheduled definitions use the same ``POST /event`` with ``schedule`` (``every 1h`` or a
cron expression) and ``sweep`` (``tokens`` / ``users``); privacyIDEA's clients never send
them, and definitions without them serialize exactly as before."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Actor, Outcome, Role
from factorflow.core.params import is_true, split_list
from factorflow.core.untrusted import UntrustedInputError, json_loads
from factorflow.errors import AuthError, ParameterError
from factorflow.events import guard, transfer, workflow_state
from factorflow.events.backtest import MAX_DAYS, backtest
from factorflow.events.conditions.base import ConditionRegistry
from factorflow.events.definition import Definition
from factorflow.events.dryrun import Sample, definitions_for, dry_run, sample_from_audit
from factorflow.events.metrics import CONTENT_TYPE, token_accepted
from factorflow.events.service import DefinitionInput
from factorflow.events.templates import templates
from factorflow.events.workflow_state import STATES
from factorflow.pipeline import Access
from factorflow.policies.decide import RequestPolicies

routes = Routes("event")

#: At most this many tokens or users in a dry run of a scheduled definition.
MAX_SAMPLE = 100


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


class IdParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    eventid: int = Field(ge=1, le=2**31 - 1)


class ModuleParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    handlermodule: str = Field(max_length=255)


class RollbackParams(IdParams):
    version: int = Field(ge=1, le=2**31 - 1)


class SaveParams(BaseModel):
    """Validated by :func:`definition_input`; ``option.<key>`` parameters are extras."""

    model_config = ConfigDict(extra="allow")


def _who(call: Call[Any]) -> str:
    return call.actor.username or call.actor.role


def _realms(call: Call[Any], right: str) -> frozenset[str] | None:
    """The realms of an admin limited by realm under ``right`` (None: not limited):
    what workflows and paused runs act on is in realms (:mod:`factorflow.events.scope`)."""
    policies = RequestPolicies(call.services.policies, call.session, call.inv.client_ip)
    return policies.admin_realms(call.actor, right)


def _json_object(value: Any, name: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json_loads(value, name)
        except UntrustedInputError:
            raise ParameterError(f"The {name!r} parameter must be a dictionary.") from None
    if not isinstance(value, dict):
        raise ParameterError(f"The {name!r} parameter must be a dictionary.")
    return value


def _json_list(value: Any, name: str) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json_loads(value, name)
        except UntrustedInputError:
            raise ParameterError(f"The {name!r} parameter must be a JSON list.") from None
    if not isinstance(value, list):
        raise ParameterError(f"The {name!r} parameter must be a JSON list.")
    return value


def _int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ParameterError(f"Invalid parameter {name!r}: not an integer") from None
    if not -(2**31) <= number < 2**31:
        raise ParameterError(f"Invalid parameter {name!r}: out of range")
    return number


def _str(params: dict[str, Any], name: str, limit: int = 255) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise ParameterError(f"Invalid parameter {name!r}: not a string")
    text = str(value).strip()
    if len(text) > limit:
        raise ParameterError(f"Invalid parameter {name!r}: longer than {limit} characters")
    return text


def _bool(params: dict[str, Any], name: str) -> bool | None:
    return None if params.get(name) in (None, "") else is_true(params[name])


def definition_input(params: dict[str, Any]) -> DefinitionInput:
    """privacyIDEA's ``POST /event`` parameters → a create/update."""
    options: dict[str, Any] = {}
    for key, value in params.items():
        if key.startswith("option."):
            options[key[len("option.") :]] = value
    events = params.get("event")
    return DefinitionInput(
        id=_int(params, "id"),
        name=_str(params, "name", 64),
        events=split_list(events) if events is not None else None,
        handlermodule=_str(params, "handlermodule"),
        action=_str(params, "action"),
        position=_str(params, "position", 10),
        ordering=_int(params, "ordering"),
        active=_bool(params, "active"),
        abort_on_error=_bool(params, "abort_on_error"),
        chain_events=_bool(params, "chain_events"),
        unknown_is_match=_bool(params, "unknown_is_match"),
        condition_expression=_str(params, "condition_expression", 2000),
        options=options or _json_object(params.get("options"), "options"),
        conditions=_json_object(params.get("conditions"), "conditions"),
        clear_options=is_true(params.get("clear_options")),
        schedule=_str(params, "schedule", 100),
        sweep=_str(params, "sweep", 10),
        steps=_json_list(params.get("steps"), "steps"),
        max_subjects=_int(params, "max_subjects"),
        max_share=_int(params, "max_share"),
    )


@routes.route("GET", "/event/", event="event_list", params=NoParams)
def list_definitions(call: Call[NoParams]) -> Outcome:
    """All event definitions, in ordering order."""
    return Outcome(value=call.services.events.all(call.session))


@routes.route("GET", "/event/available", event="event_list", params=NoParams)
def available(call: Call[NoParams]) -> Outcome:
    """The event names definitions can bind to."""
    return Outcome(value=call.services.events.available_events)


@routes.route("GET", "/event/handlermodules", event="event_list", params=NoParams)
def handlermodules(call: Call[NoParams]) -> Outcome:
    """The installed handler modules."""
    return Outcome(value=list(call.services.events.handlers))


@routes.route("GET", "/event/actions/{handlermodule}", event="event_list", params=ModuleParams)
def actions(call: Call[ModuleParams]) -> Outcome:
    """The module's actions with their option descriptors ([] for an unknown module)."""
    handler = call.services.events.handlers.get(call.params.handlermodule)
    if handler is None:
        return Outcome(value=[])
    return Outcome(value=handler.describe_actions(_configured(call)))


def _configured(call: Call[Any]) -> dict[str, list[str]]:
    """The stored configurations that handler options name (their dropdown choices,
    as privacyIDEA lists realms, token types, token groups, SMTP servers ...)."""
    services, session = call.services, call.session
    return {
        **_dynamic_choices(call),
        "smtp_servers": sorted(services.notify.list_smtp(session)),
        "sms_gateways": services.notify.sms_identifiers(session),
        "privacyidea_servers": sorted(services.federation.list_servers(session)),
        "tokengroups": sorted(services.tokens.groups.describe(session)),
        "internal_admins": sorted(admin.username for admin in services.admins.list(session)),
    }


def _dynamic_choices(call: Call[Any]) -> dict[str, list[str]]:
    users = call.services.users
    return {
        "realms": sorted(users.list_realms(call.session)),
        "resolvers": sorted(users.list_resolvers(call.session)),
        "tokentypes": sorted(call.services.token_types),
        # The Token handler cannot finish a WebAuthn enrolment (no browser).
        "enrollable_tokentypes": sorted(
            name
            for name in call.services.token_types
            if not call.services.token_types[name].client_enrollment
        ),
    }


def describe_conditions(registry: ConditionRegistry, dynamic: dict[str, list[str]]) -> Any:
    return {name: condition.descriptor(dynamic) for name, condition in registry.items()}


@routes.route("GET", "/event/conditions/{handlermodule}", event="event_list", params=ModuleParams)
def conditions(call: Call[ModuleParams]) -> Outcome:
    """The condition descriptors (the same for every module; [] for an unknown module)."""
    events = call.services.events
    if call.params.handlermodule not in events.handlers:
        return Outcome(value=[])
    return Outcome(value=describe_conditions(events.conditions, _dynamic_choices(call)))


@routes.route("GET", "/event/positions/{handlermodule}", event="event_list", params=ModuleParams)
def positions(call: Call[ModuleParams]) -> Outcome:
    """The positions the module allows ([] for an unknown module)."""
    handler = call.services.events.handlers.get(call.params.handlermodule)
    return Outcome(value=list(handler.positions) if handler else [])


@routes.route("GET", "/event/defaults/{handlermodule}", event="event_list", params=ModuleParams)
def defaults(call: Call[ModuleParams]) -> Outcome:
    """Defaults for a new definition of the module."""
    handler = call.services.events.handlers.get(call.params.handlermodule)
    if handler is None:
        return Outcome(value=[])
    return Outcome(
        value={
            "abort_on_error": handler.default_abort_on_error,
            "unknown_is_match": True,
            # Whether the module may run on a schedule (the web UI's trigger choice).
            "schedulable": handler.schedulable,
            # The actions that may chain (``chain_events``): they perform an API request.
            "chained_events": list(handler.chained_events),
        }
    )


@routes.route("POST", "/event", "/event/", event="event_write", params=SaveParams)
def save(call: Call[SaveParams]) -> Outcome:
    """Create or update a definition; the value is its id."""
    data = definition_input(call.inv.params)
    definition_id = call.services.events.save(call.session, data, _who(call))
    call.audit.info = str(definition_id)
    return Outcome(value=definition_id)


def _sample(call: Call[Any], params: dict[str, Any], event: str) -> Sample:
    audit_id = _int(params, "audit_id")
    if audit_id is not None:
        return sample_from_audit(call.session, call.services.event_ports, audit_id)
    roles: dict[str, Role] = {"admin": "admin", "user": "user", "none": "none"}
    role = roles.get(_str(params, "logged_in_role", 10) or "none")
    if role is None:
        raise ParameterError("Invalid parameter 'logged_in_role': admin, user or none")
    actor = Actor(
        role=role,
        username=_str(params, "logged_in_user") or "",
        realm=_str(params, "logged_in_realm") or "",
    )
    limit = _int(params, "limit")
    if limit is not None and not 1 <= limit <= MAX_SAMPLE:
        raise ParameterError(f"Invalid parameter 'limit': 1 to {MAX_SAMPLE}")
    return Sample(
        limit=limit or 10,
        event=event,
        params=_json_object(params.get("params"), "params") or {},
        user=_str(params, "user") or "",
        realm=_str(params, "realm") or "",
        serial=_str(params, "serial", 1000) or "",
        result=_json_object(params.get("result"), "result"),
        client_ip=_str(params, "client_ip", 64) or "",
        user_agent=_str(params, "user_agent", 255) or "",
        actor=actor,
    )


def _inline(call: Call[Any], inline: dict[str, Any]) -> Definition:
    """An unsaved definition body (``POST /event``'s fields), validated as a save is."""
    data = definition_input(
        {**inline, **{f"option.{k}": v for k, v in (inline.get("options") or {}).items()}}
    )
    return call.services.events.transient(call.session, data)


@routes.route("POST", "/event/test", event="event_test", params=SaveParams)
def test(call: Call[SaveParams]) -> Outcome:
    """Dry run: evaluate definitions against a sample and change nothing (a scheduled
    definition: against ``serial`` / ``user`` or the first ``limit`` items of its sweep)."""
    params = call.inv.params
    definition_id = _int(params, "eventid")
    inline = _json_object(params.get("definition"), "definition")
    if inline is not None:
        definitions = [_inline(call, inline)]
        event = _str(params, "event") or (definitions[0].events or ("",))[0]
    else:
        event = _str(params, "event") or ""
        if definition_id is None and not event:
            raise ParameterError("Missing parameter: 'eventid', 'definition' or 'event'")
        definitions = definitions_for(
            call.services.event_ports, call.session, definition_id=definition_id, event=event
        )
        if definition_id is not None and not event:
            event = definitions[0].events[0] if definitions[0].events else ""
    sample = _sample(call, params, event)
    return Outcome(value=dry_run(call.services.event_ports, call.session, definitions, sample))


class BacktestParams(BaseModel):
    """``eventid`` (a stored definition, enabled or not) or ``definition`` (an unsaved
    body, as ``/event/test`` takes it), and the window in days."""

    model_config = ConfigDict(extra="allow")

    eventid: int | None = Field(default=None, ge=1, le=2**31 - 1)
    days: int = Field(default=7, ge=1, le=MAX_DAYS)


# A read: it never writes, so on SQLite it does not hold the writers' gate while it
# replays a long window.
@routes.route("POST", "/event/backtest", event="event_test", params=BacktestParams, writes=False)
def backtest_definition(call: Call[BacktestParams]) -> Outcome:
    """Backtest: what one definition would have done on the audited requests of the
    last ``days`` days (counts per day, audited action and condition; samples)."""
    inline = _json_object(call.inv.params.get("definition"), "definition")
    if inline is not None:
        definition = _inline(call, inline)
    elif call.params.eventid is not None:
        ports = call.services.event_ports
        [definition] = definitions_for(
            ports, call.session, definition_id=call.params.eventid, event=""
        )
    else:
        raise ParameterError("Missing parameter: 'eventid' or 'definition'")
    # A realm-limited admin replays its realms' requests only (the samples are audit
    # entries, which it could not read otherwise).
    realms = _realms(call, "eventhandling_read")
    value = backtest(
        call.services.event_ports, call.session, definition, days=call.params.days, realms=realms
    )
    call.audit.info = f"{value['name']}: {value['fired']} of {value['evaluated']} would fire"
    return Outcome(value=value)


@routes.route("POST", "/event/enable/{eventid}", event="event_enable", params=IdParams)
def enable(call: Call[IdParams]) -> Outcome:
    """Activate a definition."""
    return Outcome(
        value=call.services.events.set_active(call.session, call.params.eventid, True, _who(call))
    )


@routes.route("POST", "/event/disable/{eventid}", event="event_disable", params=IdParams)
def disable(call: Call[IdParams]) -> Outcome:
    """Deactivate a definition."""
    return Outcome(
        value=call.services.events.set_active(call.session, call.params.eventid, False, _who(call))
    )


@routes.route("GET", "/event/export", event="event_list", params=NoParams)
def export(call: Call[NoParams]) -> Outcome:
    """Export definitions as YAML (``format=json``: the same document in the envelope).

    Filters (any matches): ``name``, ``ids`` (comma-separated), ``uid``."""
    params = call.inv.params
    fmt = (_str(params, "format", 10) or "yaml").lower()
    if fmt not in ("yaml", "json"):
        raise ParameterError("Invalid parameter 'format': yaml or json")
    ids: list[int] = []
    for item in split_list(params.get("ids")):
        try:
            ids.append(int(item))
        except ValueError:
            raise ParameterError(f"Invalid parameter 'ids': {item[:20]!r} is not an id") from None
    name = _str(params, "name", 64)
    uid = _str(params, "uid", 64)
    chosen = transfer.select_definitions(
        call.services.events.all(call.session),
        names=[name] if name else [],
        ids=ids,
        uids=[uid] if uid else [],
    )
    document = transfer.export_document(chosen)
    call.audit.info = f"{len(chosen)} definitions"
    if fmt == "json":
        return Outcome(value=document)
    return Outcome(
        value=None,
        raw_body=transfer.dump_yaml(document).encode("utf-8"),
        raw_media_type="application/yaml; charset=utf-8",
    )


@routes.route("POST", "/event/import", event="event_write", params=NoParams)
def import_(call: Call[NoParams]) -> Outcome:
    """Import definitions (YAML or JSON in ``data``, or an uploaded ``file``), matched by uid.

    All or nothing: one invalid entry refuses the whole file (400 naming the entry and
    field). ``dry_run=1`` reports what would change and changes nothing."""
    params = call.inv.params
    data = params.get("data")
    if data is None:
        data = params.get("file")
    if data is None:
        raise ParameterError("Missing parameter: 'data' (or an uploaded 'file')")
    dry = is_true(params.get("dry_run"))
    entries = transfer.import_entries(data)
    report = call.services.events.import_definitions(call.session, entries, _who(call), dry_run=dry)
    value = transfer.summary(report, dry_run=dry)
    call.audit.info = (
        f"created {value['created']}, updated {value['updated']}, "
        f"unchanged {value['unchanged']}" + (" (dry run)" if dry else "")
    )
    return Outcome(value=value)


@routes.route("GET", "/metrics", event="event_list", params=NoParams, access=Access.PUBLIC)
def metrics(call: Call[NoParams]) -> Outcome:
    """Prometheus metrics (admin JWT, or the token in ``<data_dir>/metrics.token``)."""
    settings = call.services.settings
    if not call.actor.is_admin and not token_accepted(settings.data_dir, call.inv.authorization):
        raise AuthError(
            "Authentication failure. /metrics needs an admin token or the metrics token.",
            code=4033,
        )
    return Outcome(
        value=None,
        raw_body=call.services.events.metrics.render(),
        raw_media_type=CONTENT_TYPE,
    )


@routes.route("GET", "/event/templates", event="event_list", params=NoParams)
def list_templates(call: Call[NoParams]) -> Outcome:
    """The documentation's examples as definition bodies to start from, each checked
    as ``POST /event`` would check it here (``valid``, ``problem``)."""
    return Outcome(value=templates(_configured(call), lambda body: _inline(call, body)))


class WorkflowListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    state: str = Field(default="", max_length=20)
    eventid: int | None = Field(default=None, ge=1, le=2**31 - 1)


class WorkflowParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    workflowid: int = Field(ge=1, le=2**31 - 1)


@routes.route("GET", "/event/workflows", event="event_workflow_list", params=WorkflowListParams)
def list_workflows(call: Call[WorkflowListParams]) -> Outcome:
    """The workflow instances (newest first), with their next step and due time."""
    if call.params.state not in ("", *STATES):
        raise ParameterError(f"Invalid parameter 'state': one of {', '.join(STATES)}")
    return Outcome(
        value=workflow_state.listing(
            call.session,
            state=call.params.state,
            definition_id=call.params.eventid,
            realms=_realms(call, "eventhandling_read"),
        )
    )


@routes.route(
    "DELETE", "/event/workflows/{workflowid}", event="event_workflow_cancel", params=WorkflowParams
)
def cancel_workflow(call: Call[WorkflowParams]) -> Outcome:
    """Cancel a running workflow: no further step runs."""
    realms = _realms(call, "eventhandling_write")
    value = workflow_state.cancel(call.session, call.params.workflowid, _who(call), realms=realms)
    call.audit.info = f"workflow {call.params.workflowid} cancelled"
    return Outcome(value=value)


class PausedListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    state: str = Field(default="", max_length=20)


class PausedParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    runid: int = Field(ge=1, le=2**31 - 1)


@routes.route("GET", "/event/paused", event="event_paused_list", params=PausedListParams)
def list_paused(call: Call[PausedListParams]) -> Outcome:
    """Scheduled runs the blast-radius guard paused (newest first), and what became of them."""
    if call.params.state not in ("", *guard.STATES):
        raise ParameterError(f"Invalid parameter 'state': one of {', '.join(guard.STATES)}")
    realms = _realms(call, "eventhandling_read")
    return Outcome(value=guard.listing(call.session, state=call.params.state, realms=realms))


@routes.route(
    "POST", "/event/paused/{runid}/confirm", event="event_paused_confirm", params=PausedParams
)
def confirm_paused(call: Call[PausedParams]) -> Outcome:
    """Run a paused run once, as planned (by the next scheduler pass, on any node)."""
    realms = _realms(call, "eventhandling_write")
    value = guard.decide(call.session, call.params.runid, _who(call), confirm=True, realms=realms)
    call.audit.info = f"paused run {call.params.runid} confirmed"
    return Outcome(value=value)


@routes.route("DELETE", "/event/paused/{runid}", event="event_paused_cancel", params=PausedParams)
def cancel_paused(call: Call[PausedParams]) -> Outcome:
    """Cancel a paused run: nothing of it is done."""
    realms = _realms(call, "eventhandling_write")
    value = guard.decide(call.session, call.params.runid, _who(call), confirm=False, realms=realms)
    call.audit.info = f"paused run {call.params.runid} cancelled"
    return Outcome(value=value)


@routes.route("GET", "/event/{eventid}/history", event="event_list", params=IdParams)
def history(call: Call[IdParams]) -> Outcome:
    """Every recorded version of a definition: version, change, who, when, snapshot."""
    return Outcome(value=call.services.events.history(call.session, call.params.eventid))


@routes.route(
    "POST", "/event/{eventid}/rollback/{version}", event="event_write", params=RollbackParams
)
def rollback(call: Call[RollbackParams]) -> Outcome:
    """Restore a definition as it was at a version (a new version records it)."""
    p = call.params
    return Outcome(
        value=call.services.events.rollback(call.session, p.eventid, p.version, _who(call))
    )


@routes.route("GET", "/event/{eventid}", event="event_list", params=IdParams)
def get_one(call: Call[IdParams]) -> Outcome:
    """One definition as a list of one, as privacyIDEA answers; ``[]`` (200) when it
    does not exist."""
    found = call.services.events.find(call.session, call.params.eventid)
    return Outcome(value=[found] if found is not None else [])


@routes.route("DELETE", "/event/{eventid}", event="event_delete", params=IdParams)
def delete(call: Call[IdParams]) -> Outcome:
    """Delete a definition; its history stays for a rollback."""
    value = call.services.events.delete(call.session, call.params.eventid, _who(call))
    call.audit.info = str(value)
    return Outcome(value=value)
