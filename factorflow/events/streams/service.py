"""Stored event streams: save, list (secrets censored), delete; and publishing, which
the dispatcher calls once per request after its post definitions.

A request's streams come from a per-process snapshot (a
:class:`~factorflow.core.versioned_cache.VersionedCache` on its own marker): with no
stream configured a request pays one dictionary lookup. A stream publishes an event
when the event is one of its ``events`` (none: every event) and its filter — the
conditions of a definition, compiled and evaluated by the same code
(:func:`~factorflow.events.definition.compile_conditions`,
:func:`~factorflow.events.evaluate.evaluate_definition`) — fires. Each published event
is one job of kind ``eventstream`` per stream, enqueued in the request's transaction:
the CloudEvent is built now; the broker's configuration is read at delivery, so a
fixed configuration reaches the jobs still waiting.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from factorflow.audit.record import AuditRecord
from factorflow.core.checks import check_identifier, validated
from factorflow.core.invocation import Invocation, Reply
from factorflow.core.redaction import CENSORED
from factorflow.core.untrusted import json_loads
from factorflow.core.versioned_cache import VersionedCache
from factorflow.crypto import SecretBox
from factorflow.db import versions
from factorflow.db.named import NamedConfigs, SealedValues
from factorflow.errors import ParameterError, ResourceNotFoundError
from factorflow.events.conditions import CONDITIONS
from factorflow.events.conditions.base import ConditionRegistry
from factorflow.events.definition import (
    UNRUNNABLE,
    Definition,
    UnrunnableOptions,
    compile_conditions,
    compile_expression,
)
from factorflow.events.errors import DefinitionError
from factorflow.events.evaluate import evaluate_definition
from factorflow.events.facts import Facts
from factorflow.events.streams import cloudevent
from factorflow.events.streams.models import EventStream
from factorflow.events.streams.options import (
    SECRET_OPTIONS,
    BrokerOptions,
    broker_kinds,
    parse_options,
)
from factorflow.jobs.service import JobService

JOB_KIND = "eventstream"
VERSION_KEY = "__eventstreams__"
DIRTY = "factorflow.eventstreams.dirty"
_KEYS = frozenset(
    {"kind", "description", "events", "conditions", "condition_expression",
     "unknown_is_match", "active"}
)  # fmt: skip


def _missing(identifier: str) -> ResourceNotFoundError:
    return ResourceNotFoundError(f"Event stream {identifier!r} does not exist.")


@dataclass(frozen=True)
class CompiledStream:
    identifier: str
    events: frozenset[str]
    #: The filter as a definition that only has conditions; None: no filter.
    filter: Definition | None


def filter_definition(
    identifier: str,
    conditions: Mapping[str, Any],
    expression: str,
    unknown_is_match: bool,
    registry: ConditionRegistry,
) -> Definition | None:
    """The filter compiled with the definitions' own code (DefinitionError if bad)."""
    if not conditions and not expression.strip():
        return None
    compiled = compile_conditions(conditions, registry)
    node = compile_expression(expression, frozenset(c.name for c in compiled))
    return Definition(
        id=0, name=f"eventstream {identifier}", events=(), handlermodule="", handler=UNRUNNABLE,
        action="", options_raw={}, options=UnrunnableOptions(), conditions=compiled,
        position="post", ordering=0, active=True, abort_on_error=False,
        unknown_is_match=unknown_is_match, condition_expression=expression, expression=node,
    )  # fmt: skip


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ParameterError(f"Invalid parameter {name!r}: expected true or false")


def _events(value: Any, known: frozenset[str] | None) -> list[str]:
    if isinstance(value, str):
        names = [name.strip() for name in value.split(",") if name.strip()]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        names = [v.strip() for v in value if v.strip()]
    else:
        raise ParameterError("Invalid parameter 'events': a comma-separated list of event names")
    unknown = [name for name in names if known and name not in known]
    if unknown:
        raise ParameterError(f"Invalid parameter 'events': unknown event {unknown[0][:100]!r}")
    return list(dict.fromkeys(names))


def _conditions(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json_loads(value, "conditions")
        except ValueError:
            raise ParameterError("Invalid parameter 'conditions': a JSON object") from None
    if not isinstance(value, dict):
        raise ParameterError("Invalid parameter 'conditions': a JSON object")
    if not all(v is None or isinstance(v, str | int | float) for v in value.values()):
        raise ParameterError("Invalid parameter 'conditions': each value is a string")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ParameterError(f"Invalid parameter {name!r}: expected a string")
    return value


class StreamService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        box: SecretBox,
        jobs: JobService,
        reload_seconds: float,
        *,
        source: str,
        conditions: ConditionRegistry = CONDITIONS,
        known_events: Callable[[], frozenset[str]] | None = None,
        kinds: Mapping[str, type[BrokerOptions]] | None = None,
    ) -> None:
        #: The broker kinds (``factorflow.stream_brokers``), options models by name.
        self.kinds = kinds if kinds is not None else broker_kinds()
        self.jobs = jobs
        self.source = source
        self._conditions = conditions
        self._known_events = known_events
        self.rows = NamedConfigs(EventStream, _missing)
        self.secrets = SealedValues(box, "eventstream")
        self._cache: VersionedCache[tuple[CompiledStream, ...]] = VersionedCache(
            load=self._load,
            read_version=lambda s: versions.read_version(s, VERSION_KEY),
            bump=lambda s: versions.bump_version(s, VERSION_KEY),
            dirty_key=DIRTY,
            reload_seconds=reload_seconds,
            own_changes="cached",
            open_session=sessions,
        )

    # -- configuration -----------------------------------------------------------------

    def save(self, session: Session, identifier: str, fields: Mapping[str, Any]) -> int:
        """Create or replace the stream ``identifier``; ParameterError for bad input."""
        check_identifier(identifier)
        row = self.rows.find(session, identifier)
        kind = str(fields.get("kind") or (row.kind if row is not None else ""))
        if kind not in self.kinds:
            names = ", ".join(sorted(self.kinds))
            raise ParameterError(f"Invalid parameter 'kind': one of {names}")
        broker = {k: v for k, v in fields.items() if k not in _KEYS}
        stored = dict(row.options) if row is not None and row.kind == kind else {}
        for name in SECRET_OPTIONS:
            if broker.get(name) == CENSORED:
                if not stored.get(name):
                    raise ParameterError(f"Invalid parameter {name!r}: nothing is stored")
                broker[name] = ""  # validated as empty, the stored ciphertext is kept
        options: BrokerOptions = validated(self.kinds[kind], broker, {})
        values = options.model_dump()
        for name in SECRET_OPTIONS & set(values):
            if fields.get(name) == CENSORED:
                values[name] = stored[name]
            else:
                values[name] = self.secrets.seal(values[name], identifier, name)
        known = self._known_events() if self._known_events is not None else None
        events = _events(fields.get("events", row.events if row else ""), known)
        conditions = _conditions(fields.get("conditions", row.conditions if row else {}))
        expression = _text(
            fields.get("condition_expression", row.condition_expression if row else ""),
            "condition_expression",
        )
        unknown_is_match = _bool(
            fields.get("unknown_is_match", row.unknown_is_match if row else False),
            "unknown_is_match",
        )
        try:
            filter_definition(
                identifier, conditions, expression, unknown_is_match, self._conditions
            )
        except DefinitionError as exc:
            raise ParameterError(exc.message) from None
        saved = self.rows.save(
            session,
            identifier,
            {
                "kind": kind,
                "options": values,
                "events": events,
                "conditions": conditions,
                "condition_expression": expression,
                "unknown_is_match": unknown_is_match,
                "active": _bool(fields.get("active", row.active if row else True), "active"),
                "description": _text(
                    fields.get("description", row.description if row else ""), "description"
                ),
            },
            row=row,
        )
        self._cache.changed(session)
        return saved.id

    def list(self, session: Session, identifier: str = "") -> dict[str, dict[str, Any]]:
        """Streams by identifier, secrets censored; one if ``identifier``."""
        return {
            row.identifier: self.describe(row) for row in self.rows.selected(session, identifier)
        }

    def describe(self, row: EventStream) -> dict[str, Any]:
        options = {
            name: self.secrets.censored(value) if name in SECRET_OPTIONS else value
            for name, value in (row.options or {}).items()
        }
        return {
            "id": row.id,
            "identifier": row.identifier,
            "kind": row.kind,
            "options": options,
            "events": list(row.events or []),
            "conditions": dict(row.conditions or {}),
            "condition_expression": row.condition_expression,
            "unknown_is_match": row.unknown_is_match,
            "active": row.active,
            "description": row.description,
        }

    def delete(self, session: Session, identifier: str) -> None:
        self.rows.delete(session, identifier)
        self._cache.changed(session)

    # -- publishing --------------------------------------------------------------------

    def _load(self, session: Session, version: str) -> tuple[CompiledStream, ...]:
        del version
        out = []
        for row in self.rows.all(session):
            if not row.active:
                continue
            try:
                compiled = filter_definition(
                    row.identifier,
                    row.conditions or {},
                    row.condition_expression or "",
                    row.unknown_is_match,
                    self._conditions,
                )
            except DefinitionError:
                continue  # refused on save; a condition plug-in since removed
            out.append(CompiledStream(row.identifier, frozenset(row.events or ()), compiled))
        return tuple(out)

    def publish(
        self,
        session: Session,
        inv: Invocation,
        reply: Reply,
        audit: AuditRecord,
        facts: Callable[[], Facts],
    ) -> int:
        """Enqueue this request's event for every stream that takes it, in the
        caller's transaction; returns how many jobs were enqueued."""
        streams = self._cache.get(session)
        if not streams:
            return 0
        enqueued = 0
        shared: Facts | None = None
        for stream in streams:
            if stream.events and inv.event not in stream.events:
                continue
            if stream.filter is not None:
                shared = shared or facts()
                if not evaluate_definition(stream.filter, shared).fires:
                    continue
            event_id = f"{uuid.uuid4()}"
            body = cloudevent.build(event_id, self.source, inv, reply, audit)
            self.jobs.enqueue(
                session,
                kind=JOB_KIND,
                payload={"stream": stream.identifier, "type": cloudevent.TYPE_PREFIX + inv.event},
                # The event names users and clients: stored sealed, like messages.
                secret={"cloudevent": body},
                idempotency_key=event_id,
                request_id=inv.request_id,
                definition=f"eventstream {stream.identifier}",
            )
            enqueued += 1
        return enqueued


def stored_options(
    session: Session,
    box: SecretBox,
    identifier: str,
    kinds: Mapping[str, type[BrokerOptions]] | None = None,
) -> BrokerOptions | None:
    """The stream's broker options with its secrets opened (for the deliverer); None
    when the stream no longer exists."""
    row = NamedConfigs(EventStream, _missing).find(session, identifier)
    if row is None:
        return None
    secrets = SealedValues(box, "eventstream")
    values = dict(row.options or {})
    for name in SECRET_OPTIONS & set(values):
        values[name] = secrets.open(str(values[name]), identifier, name)
    return parse_options(broker_kinds() if kinds is None else kinds, row.kind, values)


__all__ = ["JOB_KIND", "CompiledStream", "StreamService", "filter_definition", "stored_options"]
