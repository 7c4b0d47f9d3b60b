"""Tables of the event framework: definitions, their history, and event counters.

``EventDefinition`` keeps privacyIDEA's binding fields (events, handler module,
action, options, conditions, position, ordering, active, abort_on_error) plus
Factorflow's ``unknown_is_match`` and ``condition_expression``. Options and
conditions are stored as JSON objects of strings, exactly as sent. ``uid`` is the
definition's stable identity across databases, carried by export and import.

A scheduled definition (``schedule`` set, bound to the pseudo-event ``scheduled``)
is run by the scheduler (:mod:`factorflow.events.scheduler`) over every token or
user (``sweep``); ``next_run_at`` is the slot it runs next and the value nodes
compare-and-swap to claim a run, ``last_run_at`` when a node last claimed one.

``EventCounter`` has one row per (counter, node): each node increments only its
own row, so nodes never contend for one lock; the logical value is the sum.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow


class EventDefinition(Base):
    __tablename__ = "event_definition"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable identity across databases (export / import match on it; ids are local).
    uid: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: str(uuid.uuid4()))
    name: Mapped[str] = mapped_column(String(64), default="")
    #: Event names this definition is bound to (a JSON list of strings).
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    handlermodule: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(255), default="")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[str] = mapped_column(String(10), default="post")
    ordering: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    abort_on_error: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Whether a condition whose data is missing counts as matched (privacyIDEA's
    #: lenient behaviour). True for definitions written through the privacyIDEA-
    #: compatible ``POST /event`` without the field; False for new-style definitions.
    unknown_is_match: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Optional AND / OR / NOT expression over condition names; empty = all must hold.
    condition_expression: Mapped[str] = mapped_column(Text, default="")
    #: ``every 15m`` / ``every 1h`` / ``every 1d`` or a 5-field cron expression (UTC);
    #: empty for definitions bound to request events.
    schedule: Mapped[str] = mapped_column(String(100), default="")
    #: What a scheduled run iterates over: ``tokens`` or ``users``; empty otherwise.
    sweep: Mapped[str] = mapped_column(String(10), default="")
    #: The slot the scheduler runs next; claimed by a conditional UPDATE on this value.
    next_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Follow-up steps of a scheduled definition (a JSON list of
    #: ``{delay, handlermodule, action, options, conditions, unknown_is_match}``);
    #: empty for a definition without a workflow (:mod:`factorflow.events.steps`).
    #: Nullable: added by a migration to a table with rows (NULL = no steps).
    steps: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True, default=list)
    #: Blast-radius guard: a run that would act on more subjects than this, or on more
    #: than ``max_share`` percent of those swept, pauses (NULL / 0 = the system default).
    max_subjects: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_share: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Whether the request the action performs (a Token ``disable``: token_disable)
    #: runs that event's definitions (:mod:`factorflow.events.dispatcher`). Nullable:
    #: added by migration 0012 (NULL = no).
    chain_events: Mapped[bool | None] = mapped_column(Boolean, nullable=True, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class EventDefinitionHistory(Base):
    """One row per change of a definition: the full snapshot after the change (or
    before it, for a delete), who made it and when. Kept after a delete."""

    __tablename__ = "event_definition_history"
    __table_args__ = (UniqueConstraint("definition_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(20))
    who: Mapped[str] = mapped_column(String(255), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EventWorkflow(Base):
    """One workflow instance: a definition with steps fired for one subject (a token
    or a user) and its steps wait (:mod:`factorflow.events.workflows`).

    ``step`` is the index of the next step to run and ``due_at`` when it comes due;
    a node claims a step with a conditional UPDATE on (``state``, ``step``,
    ``due_at``). ``running_key`` is ``<definition>:<subject>`` while the instance runs
    and NULL after it ended, so the unique constraint allows one running instance per
    definition and subject (NULLs never collide, on every database)."""

    __tablename__ = "event_workflow"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(Integer, index=True)
    #: ``token`` or ``user``.
    subject_kind: Mapped[str] = mapped_column(String(10))
    #: The token's serial, or the user's ``realm``, ``resolver`` and ``uid``.
    serial: Mapped[str] = mapped_column(String(255), default="")
    realm: Mapped[str] = mapped_column(String(255), default="")
    resolver: Mapped[str] = mapped_column(String(255), default="")
    user_uid: Mapped[str] = mapped_column(String(255), default="")
    #: ``running``, ``done``, ``ended`` (a step's conditions no longer held, or the
    #: subject is gone), ``failed`` (a step's action failed) or ``cancelled``.
    state: Mapped[str] = mapped_column(String(20), default="running", index=True)
    step: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    running_key: Mapped[str | None] = mapped_column(String(300), nullable=True, unique=True)
    #: Why the workflow ended (empty while it runs).
    reason: Mapped[str] = mapped_column(Text, default="")
    #: The run that started it (its audit request id).
    request_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: The paused run (:class:`EventPausedRun`) that held its step back, the last one;
    #: the step waits while that run is ``paused``, ``confirmed`` or ``running``.
    held_by: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


class EventPausedRun(Base):
    """A scheduled run the blast-radius guard held back (:mod:`factorflow.events.guard`):
    ``paused`` until an admin confirms (``confirmed``; a worker claims it as
    ``running`` and runs it once, then ``done``) or cancels it (``cancelled``)."""

    __tablename__ = "event_paused_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(20), default="paused", index=True)
    #: Subjects swept and those the run would have acted on, when it paused.
    swept: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    #: Which limit it exceeded, in words.
    reason: Mapped[str] = mapped_column(Text, default="")
    #: The paused run's request id (its summary audit entry).
    request_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(255), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: What the confirmed run did (its summary).
    outcome: Mapped[str] = mapped_column(Text, default="")
    #: A batch of workflow steps (0-based step of the definition; the workflows name
    #: the run in ``held_by``) instead of a scheduled run (NULL).
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class EventCounter(Base):
    __tablename__ = "eventcounter"
    __table_args__ = (UniqueConstraint("counter_name", "node"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    counter_name: Mapped[str] = mapped_column(String(80))
    node: Mapped[str] = mapped_column(String(255))
    value: Mapped[int] = mapped_column(Integer, default=0)
