"""EventService: managing definitions (privacyIDEA's ``/event`` semantics, quirks fixed).

* ``save`` creates (no ``id`` or an unknown one) or updates; on update every
  omitted field keeps its stored value (privacyIDEA resets position, ordering and
  active), ``options`` / ``conditions`` None = keep, a dict = replace.
* Everything is validated before anything is stored: module, action, position,
  options against the action's model, conditions against their parsers, the
  condition expression, event names. A refusal is a DefinitionError (400, 905)
  naming the field.
* A definition with a ``schedule`` is bound to the pseudo-event ``scheduled`` (no
  request carries it) and sweeps ``tokens`` or ``users``; its module must be
  schedulable. Each write recomputes ``next_run_at`` (None while inactive); the
  scheduler (:mod:`factorflow.events.scheduler`) claims and runs the slots.
* Every change bumps the configuration version (all processes reload within a
  second) and writes a history row (version, who, when, full snapshot), from
  which ``rollback`` restores.
* Secret options are sealed at rest and censored in every answer
  (:mod:`factorflow.events.secrets`); ``__CENSORED__`` sent back keeps the stored
  secret, and a rollback restores the secret of its version.

All methods take the caller's unit-of-work session and never commit.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from factorflow.crypto import SecretBox
from factorflow.db.base import utcnow
from factorflow.errors import MissingParameterError, ParameterError, ResourceNotFoundError
from factorflow.events import limits
from factorflow.events.cache import DefinitionCache
from factorflow.events.conditions import CONDITIONS
from factorflow.events.conditions.base import ConditionRegistry
from factorflow.events.definition import (
    POSITIONS,
    Definition,
    check_action,
    check_position,
    compile_conditions,
    compile_expression,
    compile_options,
    find_handler,
    from_row,
    serialize,
)
from factorflow.events.errors import DefinitionError
from factorflow.events.handlers.base import EventHandler
from factorflow.events.legacy import renamed_events
from factorflow.events.metrics import EventMetrics
from factorflow.events.models import EventCounter, EventDefinition, EventDefinitionHistory
from factorflow.events.schedule import SCHEDULED_EVENT, SWEEPS, parse_schedule
from factorflow.events.secrets import OptionSecrets
from factorflow.events.steps import validate_steps

_UID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def check_uid(uid: str) -> str:
    """A uid is 1 to 64 characters of letters, digits, ``.``, ``_``, ``:`` and ``-``."""
    if not isinstance(uid, str) or not _UID.fullmatch(uid):
        raise DefinitionError(
            "Invalid parameter 'uid': 1 to 64 letters, digits, '.', '_', ':' or '-'"
        )
    return uid


@dataclass
class DefinitionInput:
    """A create or update; None means "not given" (create: default, update: keep)."""

    id: int | None = None
    #: Stable identity; only used when creating (None: a new random UUID).
    uid: str | None = None
    name: str | None = None
    events: list[str] | None = None
    handlermodule: str | None = None
    action: str | None = None
    position: str | None = None
    ordering: int | None = None
    active: bool | None = None
    abort_on_error: bool | None = None
    unknown_is_match: bool | None = None
    condition_expression: str | None = None
    options: dict[str, Any] | None = None
    conditions: dict[str, Any] | None = None
    clear_options: bool = False
    #: ``every 1h`` / cron; "" = bound to request events again.
    schedule: str | None = None
    #: ``tokens`` or ``users`` (scheduled definitions).
    sweep: str | None = None
    #: Follow-up steps (:mod:`factorflow.events.steps`); [] removes them.
    steps: list[Any] | None = None
    #: Blast-radius guard limits of a scheduled definition (0 = the system default).
    max_subjects: int | None = None
    max_share: int | None = None
    #: Whether the request the action performs runs its event's definitions.
    chain_events: bool | None = None

    def required(self) -> tuple[tuple[str, Any], ...]:
        """The fields a new definition must have (a scheduled one needs no event)."""
        fields: tuple[tuple[str, Any], ...] = (
            ("name", self.name),
            ("handlermodule", self.handlermodule),
            ("action", self.action),
        )
        if not self.schedule:
            fields = (*fields[:1], ("event", self.events), *fields[1:])
        return fields


def _stored(row: EventDefinition, key: str) -> Any:
    """A stored field as a validated one compares (a row from before migration 0011
    has NULL steps and limits: none)."""
    value = getattr(row, key)
    if key == "steps":
        return value or []
    if key == "chain_events":
        return bool(value)
    return (value or 0) if key in ("max_subjects", "max_share") else value


def reschedule(row: EventDefinition, now: datetime) -> None:
    """The next slot after ``now`` of an active scheduled definition, else None."""
    if row.schedule and row.active is not False:
        row.next_run_at = parse_schedule(row.schedule).next_after(now)
    else:
        row.next_run_at = None


class EventService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        handlers: Mapping[str, EventHandler],
        reload_seconds: float,
        conditions: ConditionRegistry = CONDITIONS,
        *,
        box: SecretBox,
        node: str = "",
    ) -> None:
        #: The handler modules by name: one instance each, shared by every request.
        self.handlers = handlers
        self.conditions = conditions
        self.secrets = OptionSecrets(box, handlers)
        self.cache = DefinitionCache(
            sessions, handlers, reload_seconds, opener=self.secrets.open_row, conditions=conditions
        )
        #: Prometheus metrics (per instance: no global registry state).
        self.metrics = EventMetrics(node=node)
        #: Event names declared by the routes; filled in when the API is built.
        self.available_events: list[str] = []
        #: ``"<METHOD> <rule>"`` as audited → event name (dry runs of audited requests).
        self.rule_events: dict[str, str] = {}

    def set_available_events(
        self, names: Sequence[str], rules: Mapping[str, str] | None = None
    ) -> None:
        self.available_events = list(dict.fromkeys(names))
        self.rule_events = dict(rules or {})

    # -- reading --------------------------------------------------------------------

    def all(self, session: Session, *, reveal: bool = False) -> list[dict[str, Any]]:
        """Every definition, secrets censored (``reveal``: in plaintext, for the
        administrator's backup export on the server itself, never for an answer)."""
        rows = session.scalars(
            select(EventDefinition).order_by(EventDefinition.ordering, EventDefinition.id)
        )
        if reveal:
            return [{**serialize(row), "options": self.secrets.open_row(row)} for row in rows]
        return [self.secrets.censor(serialize(row)) for row in rows]

    @staticmethod
    def naming(session: Session, module: str, option: str, value: str) -> list[str]:
        """Names (or ``#id``) of the definitions of handler ``module`` whose option
        ``option`` is ``value``: what a configuration's delete must not orphan."""
        definitions = session.scalars(
            select(EventDefinition)
            .where(EventDefinition.handlermodule == module)
            .order_by(EventDefinition.id)
        )
        return [
            d.name or f"#{d.id}"
            for d in definitions
            if isinstance(d.options, dict) and d.options.get(option) == value
        ]

    def row(self, session: Session, definition_id: int) -> EventDefinition:
        row = session.get(EventDefinition, definition_id)
        if row is None:
            raise ResourceNotFoundError(
                f"The event definition with id {definition_id} does not exist."
            )
        return row

    def find(self, session: Session, definition_id: int) -> dict[str, Any] | None:
        """The serialized definition (secrets censored), None if there is none with that id."""
        row = session.get(EventDefinition, definition_id)
        return self.secrets.censor(serialize(row)) if row is not None else None

    def compile(self, row: EventDefinition) -> Definition:
        """The stored ``row`` compiled to run, its secrets opened."""
        return from_row(
            row, self.handlers, options=self.secrets.open_row(row), conditions=self.conditions
        )

    # -- writing --------------------------------------------------------------------

    def transient(self, session: Session, data: DefinitionInput) -> Definition:
        """Validate and compile a definition without storing it (inline dry runs). A
        censored secret stands for the one stored with ``data.id``."""
        for name, value in data.required()[1:]:
            if value in (None, "", []):
                raise MissingParameterError(name)
        stored = session.get(EventDefinition, data.id) if data.id is not None else None
        data = self._with_stored_secrets(stored, data)
        row = EventDefinition(id=0)
        values = self._validated(
            row, DefinitionInput(**{**vars(data), "name": data.name or "test"}), True
        )
        for key, value in values.items():
            setattr(row, key, value)
        return from_row(row, self.handlers, conditions=self.conditions)

    def save(self, session: Session, data: DefinitionInput, who: str) -> int:
        row = session.get(EventDefinition, data.id) if data.id is not None else None
        creating = row is None
        if row is None:
            for name, value in data.required():
                if value in (None, "", []):
                    raise MissingParameterError(name)
            self._check_room(session, 1)
            row = EventDefinition(id=data.id) if data.id is not None else EventDefinition()
            row.uid = self._new_uid(session, data.uid)
        data = self._with_stored_secrets(None if creating else row, data)
        values = self._validated(row, data, creating)
        self._check_references(session, values)
        for n, step in enumerate(values["steps"], 1):
            try:
                self._check_references(session, step)
            except DefinitionError as exc:
                raise DefinitionError(
                    f"Invalid parameter 'steps': step {n}: {exc.message}"
                ) from None
        values["options"] = self._sealed(values, row.uid, None if creating else row)
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
        reschedule(row, row.updated_at)
        if creating:
            row.created_at = row.updated_at
            session.add(row)
        session.flush()
        self._changed(session, row, "create" if creating else "update", who)
        return row.id

    def _with_stored_secrets(
        self, row: EventDefinition | None, data: DefinitionInput, missing: str = ""
    ) -> DefinitionInput:
        """``data`` with its options in plaintext: a ``__CENSORED__`` secret replaced
        by the one stored in ``row`` (refused, saying ``missing``, if none is); kept
        options (None on an update) opened."""
        module = data.handlermodule or (row.handlermodule if row is not None else "")
        action = data.action or (row.action if row is not None else "")
        stored = self.secrets.open_row(row) if row is not None else {}
        if data.options is not None:
            missing = missing or (
                f"definition {row.id} has none stored"
                if row is not None
                else "a new definition has none stored"
            )
            options = self.secrets.keep_censored(module, action, data.options, stored, missing)
            return replace(data, options=options)
        if row is not None and not data.clear_options:
            return replace(data, options=stored)
        return data

    def _sealed(
        self, values: Mapping[str, Any], uid: str, row: EventDefinition | None
    ) -> dict[str, str]:
        """The validated options as stored: secrets sealed, unchanged ones kept."""
        return self.secrets.seal(
            values["handlermodule"],
            values["action"],
            uid,
            values["options"],
            row.options if row is not None else None,
        )

    def _check_references(self, session: Session, values: Mapping[str, Any]) -> None:
        """The handler's checks of the options against stored configuration."""
        handler = find_handler(self.handlers, values["handlermodule"])
        _, options = compile_options(handler, values["action"], values["options"])
        try:
            handler.check_references(session, values["action"], options)
        except ValueError as exc:
            raise DefinitionError(str(exc)) from None

    @staticmethod
    def _check_room(session: Session, new: int) -> None:
        """Refuse ``new`` more definitions beyond ``limits.MAX_DEFINITIONS``."""
        if not new:
            return
        count = int(session.scalar(select(func.count(EventDefinition.id))) or 0)
        if count + new > limits.MAX_DEFINITIONS:
            raise DefinitionError(
                f"There are already {count} event definitions; at most "
                f"{limits.MAX_DEFINITIONS} are allowed"
            )

    def _new_uid(self, session: Session, uid: str | None) -> str:
        if uid is None:
            return str(uuid.uuid4())
        uid = check_uid(uid)
        if session.scalar(select(EventDefinition.id).where(EventDefinition.uid == uid)):
            raise DefinitionError(f"Invalid parameter 'uid': {uid!r} is already in use")
        return uid

    def by_uid(self, session: Session, uid: str) -> EventDefinition | None:
        return session.scalar(select(EventDefinition).where(EventDefinition.uid == uid))

    def _validated(
        self, row: EventDefinition, data: DefinitionInput, creating: bool
    ) -> dict[str, Any]:
        def pick(given: Any, stored: Any, default: Any) -> Any:
            if given is not None:
                return given
            return default if creating else stored

        module = pick(data.handlermodule, row.handlermodule, None)
        handler = find_handler(self.handlers, module)
        action = check_action(handler, pick(data.action, row.action, None))
        schedule, sweep = self._schedule(row, data, creating, handler)
        position = pick(data.position, row.position, "post") or "post"
        if position not in POSITIONS:
            raise DefinitionError(f"Invalid parameter 'position': {position!r} is not pre or post")
        if schedule and position != "post":
            raise DefinitionError(
                "Invalid parameter 'position': a scheduled definition runs outside any "
                "request; its position is post"
            )
        check_position(handler, position)
        events = self._events(pick(data.events, row.events, []), schedule)
        name = pick(data.name, row.name, "")
        if not name or len(name) > 64 or limits.control_character(name):
            raise DefinitionError(
                "Invalid parameter 'name': 1 to 64 characters, no control characters"
            )
        if data.options is not None:
            raw_options = data.options
        elif data.clear_options:
            raw_options = {}
        else:
            raw_options = {} if creating else dict(row.options or {})
        options, _ = compile_options(handler, action, raw_options)
        conditions = pick(data.conditions, row.conditions, {}) or {}
        compiled = compile_conditions(conditions, self.conditions)
        expression = pick(data.condition_expression, row.condition_expression, "") or ""
        compile_expression(expression, frozenset(c.name for c in compiled))
        lenient = pick(data.unknown_is_match, row.unknown_is_match, True)
        steps = validate_steps(
            pick(data.steps, row.steps, []),
            self.handlers,
            self.conditions,
            unknown_is_match=lenient,
        )
        if steps and not schedule:
            raise DefinitionError(
                "Invalid parameter 'steps': only a scheduled definition has follow-up steps"
            )
        max_subjects = int(pick(data.max_subjects, row.max_subjects, 0) or 0)
        max_share = int(pick(data.max_share, row.max_share, 0) or 0)
        if not 0 <= max_subjects <= 10**9:
            raise DefinitionError("Invalid parameter 'max_subjects': 0 (no limit) to 10^9")
        if not 0 <= max_share <= 100:
            raise DefinitionError(
                "Invalid parameter 'max_share': a percentage, 0 (no limit) to 100"
            )
        if (max_subjects or max_share) and not schedule:
            raise DefinitionError(
                "Invalid parameter 'max_subjects': only a scheduled definition has a guard"
            )
        chain = bool(pick(data.chain_events, row.chain_events, False))
        if chain and action not in handler.chained_events:
            raise DefinitionError(
                f"Invalid parameter 'chain_events': {handler.identifier} {action!r} "
                "performs no API request"
            )
        if chain and schedule:
            raise DefinitionError(
                "Invalid parameter 'chain_events': only a request-bound definition chains"
            )
        return {
            "name": name,
            "events": events,
            "handlermodule": handler.identifier,
            "action": action,
            "position": position,
            "ordering": pick(data.ordering, row.ordering, 0),
            "active": pick(data.active, row.active, True),
            "abort_on_error": pick(
                data.abort_on_error, row.abort_on_error, handler.default_abort_on_error
            ),
            "unknown_is_match": lenient,
            "condition_expression": expression,
            "steps": steps,
            "max_subjects": max_subjects,
            "max_share": max_share,
            "chain_events": chain,
            "options": options,
            "conditions": {c.name: c.raw for c in compiled},
            "schedule": schedule,
            "sweep": sweep,
        }

    def _schedule(
        self,
        row: EventDefinition,
        data: DefinitionInput,
        creating: bool,
        handler: EventHandler,
    ) -> tuple[str, str]:
        """The normalised (schedule, sweep); ("", "") for a request-bound definition."""
        text = data.schedule if data.schedule is not None else ("" if creating else row.schedule)
        text = (text or "").strip()
        if not text:
            if data.sweep:
                raise DefinitionError("Invalid parameter 'sweep': only with a 'schedule'")
            return "", ""
        try:
            schedule = parse_schedule(text)
        except ValueError as exc:
            raise DefinitionError(f"Invalid parameter 'schedule': {exc}") from None
        sweep = data.sweep if data.sweep is not None else ("" if creating else row.sweep)
        sweep = (sweep or "tokens").strip().lower()
        if sweep not in SWEEPS:
            raise DefinitionError(
                f"Invalid parameter 'sweep': {sweep[:40]!r} is not tokens or users"
            )
        if not handler.schedulable:
            raise DefinitionError(
                f"Invalid parameter 'handlermodule': {handler.identifier} acts on a request or "
                "response and cannot run on a schedule"
            )
        return schedule.text, sweep

    def _events(self, given: list[str], schedule: str) -> list[str]:
        try:
            events = limits.unique_events(given)  # bounded first: renaming is quadratic
        except ValueError as exc:
            raise DefinitionError(f"Invalid parameter 'event': {exc}") from None
        events, renamed = renamed_events(events)
        for warning in renamed:
            logging.getLogger(__name__).warning("event definition: %s", warning)
        if schedule:
            # Bound to the pseudo-event only, so request dispatch never sees it.
            if events and events != [SCHEDULED_EVENT]:
                raise DefinitionError(
                    f"Invalid parameter 'event': a scheduled definition is bound to the "
                    f"event {SCHEDULED_EVENT!r} only"
                )
            return [SCHEDULED_EVENT]
        if not events:
            raise MissingParameterError("event")
        if SCHEDULED_EVENT in events:
            raise DefinitionError(
                f"Invalid parameter 'event': {SCHEDULED_EVENT!r} needs a 'schedule'"
            )
        unknown = [e for e in events if self.available_events and e not in self.available_events]
        if unknown:
            raise DefinitionError(f"Invalid parameter 'event': unknown event {unknown[0]!r}")
        return events

    # -- import ---------------------------------------------------------------------------

    def import_definitions(
        self,
        session: Session,
        entries: Sequence[tuple[str, DefinitionInput]],
        who: str,
        *,
        dry_run: bool = False,
    ) -> list[dict[str, Any]]:
        """Create or update definitions by ``uid``, all or nothing.

        Each entry is ``(label, data)``: ``label`` names the entry in errors
        (``definition 3 ('lock notice')``), ``data.uid`` is required. An entry is the
        full definition: omitted fields take their defaults (unlike ``save``, which
        keeps them). Every entry is validated as ``POST /event`` validates it before
        anything is written; an entry equal to the stored definition is left alone
        (no history row, no version bump). Returns one ``{uid, id, name, result}``
        per entry, result ``created`` / ``updated`` / ``unchanged``.
        """
        plans: list[tuple[EventDefinition | None, dict[str, Any], str]] = []
        seen: dict[str, str] = {}
        for label, data in entries:
            try:
                if data.uid is None:
                    raise MissingParameterError("uid")
                uid = check_uid(data.uid)
                if uid in seen:
                    raise DefinitionError(
                        f"Invalid parameter 'uid': {uid!r} is also used by {seen[uid]}"
                    )
                seen[uid] = label
                for name, value in data.required():
                    if value in (None, "", []):
                        raise MissingParameterError(name)
                row = self.by_uid(session, uid)
                # An export without secrets imports back: the uid's stored ones stay.
                missing = (
                    f"the stored definition {uid!r} has none"
                    if row is not None
                    else f"there is no stored definition {uid!r} to keep it from"
                )
                full = replace(data, options=data.options or {})
                opened = self._with_stored_secrets(row, full, missing)
                values = self._validated(row or EventDefinition(), opened, True)
                values["options"] = self._sealed(values, uid, row)
            except ParameterError as exc:
                raise DefinitionError(f"{label}: {exc.message}") from None
            plans.append((row, values, uid))
        self._check_room(session, sum(1 for stored, _, _ in plans if stored is None))
        report: list[dict[str, Any]] = []
        for stored, values, uid in plans:
            if stored is None:
                result = "created"
            elif any(_stored(stored, key) != value for key, value in values.items()):
                result = "updated"
            else:
                result = "unchanged"
            row = stored
            if not dry_run and result != "unchanged":
                if row is None:
                    row = EventDefinition(uid=uid)
                    session.add(row)
                for key, value in values.items():
                    setattr(row, key, value)
                row.updated_at = utcnow()
                reschedule(row, row.updated_at)
                if result == "created":
                    row.created_at = row.updated_at
                session.flush()
                self._changed(session, row, "import", who)
            report.append(
                {
                    "uid": uid,
                    "id": row.id if row is not None else None,
                    "name": values["name"],
                    "result": result,
                }
            )
        return report

    def set_active(self, session: Session, definition_id: int, active: bool, who: str) -> int:
        row = self.row(session, definition_id)
        row.active = active
        row.updated_at = utcnow()
        reschedule(row, row.updated_at)
        session.flush()
        self._changed(session, row, "enable" if active else "disable", who)
        return row.id

    def delete(self, session: Session, definition_id: int, who: str) -> int:
        row = self.row(session, definition_id)
        self._changed(session, row, "delete", who)
        session.delete(row)
        session.flush()
        return definition_id

    # -- history ----------------------------------------------------------------------

    def history(self, session: Session, definition_id: int) -> list[dict[str, Any]]:
        rows = session.scalars(
            select(EventDefinitionHistory)
            .where(EventDefinitionHistory.definition_id == definition_id)
            .order_by(EventDefinitionHistory.version)
        )
        out = [
            {
                "version": h.version,
                "change": h.change,
                "who": h.who,
                "at": h.at.isoformat(),
                "definition": self.secrets.censor(h.snapshot),
            }
            for h in rows
        ]
        if not out:
            raise ResourceNotFoundError(
                f"The event definition with id {definition_id} has no history."
            )
        return out

    def rollback(self, session: Session, definition_id: int, version: int, who: str) -> int:
        """Restore the definition as it was at ``version`` (re-created if deleted)."""
        entry = session.scalar(
            select(EventDefinitionHistory).where(
                EventDefinitionHistory.definition_id == definition_id,
                EventDefinitionHistory.version == version,
            )
        )
        if entry is None:
            raise ResourceNotFoundError(
                f"The event definition {definition_id} has no version {version}."
            )
        snap = entry.snapshot
        uid = snap.get("uid")
        if uid is not None and self.by_uid(session, uid) is not None:
            uid = None  # re-created (deleted, then imported again): only a new uid is free
        data = DefinitionInput(
            id=definition_id,
            uid=uid,
            name=snap["name"],
            events=list(snap["event"]),
            handlermodule=snap["handlermodule"],
            action=snap["action"],
            position=snap["position"],
            ordering=snap["ordering"],
            active=snap["active"],
            abort_on_error=snap["abort_on_error"],
            unknown_is_match=snap["unknown_is_match"],
            condition_expression=snap["condition_expression"],
            # The snapshot's sealed secrets, opened: the version's real secrets return.
            options=self.secrets.open_snapshot(snap),
            conditions=dict(snap["conditions"]),
            schedule=snap.get("schedule", ""),
            sweep=snap.get("sweep", ""),
            steps=list(snap.get("steps") or []),
            max_subjects=int(snap.get("max_subjects") or 0),
            max_share=int(snap.get("max_share") or 0),
            chain_events=bool(snap.get("chain_events", False)),
        )
        return self.save(session, data, who)

    @staticmethod
    def set_counter(session: Session, name: str, node: str, value: int) -> None:
        """Set the event counter ``name`` of ``node`` (an import: the Counter
        handler's actions only add to it)."""
        row = session.scalar(
            select(EventCounter).where(EventCounter.counter_name == name, EventCounter.node == node)
        )
        if row is None:
            session.add(EventCounter(counter_name=name, node=node, value=value))
        else:
            row.value = value
        session.flush()

    def seal_stored_secrets(self, session: Session) -> int:
        """Seal secrets stored in plaintext before they were sealed (see
        :meth:`OptionSecrets.seal_stored`)."""
        return self.secrets.seal_stored(session)

    def _changed(self, session: Session, row: EventDefinition, change: str, who: str) -> None:
        latest = session.scalar(
            select(func.max(EventDefinitionHistory.version)).where(
                EventDefinitionHistory.definition_id == row.id
            )
        )
        session.add(
            EventDefinitionHistory(
                definition_id=row.id,
                version=(latest or 0) + 1,
                change=change,
                who=who[:255],
                at=utcnow(),
                snapshot=serialize(row, bookkeeping=False),
            )
        )
        # Other requests see it once it is committed; a rolled-back change never.
        self.cache.changed(session)
