"""Backtest: what a definition would have done on the audited requests of the last N days.

Every audited request of the window whose event the definition listens to is replayed
through its conditions exactly as the dry run replays one audit entry
(:func:`factorflow.events.dryrun.sample_from_audit`): the event, the user and realm,
the serial, the logged-in admin, client IP and user agent, and the result the audit
kept. Nothing runs and nothing is written (a SAVEPOINT that is rolled back makes sure).

Contract of the answer: counts per day of the window (every day, also empty ones, oldest
first), per audited action (``POST /validate/check`` ...: the endpoint the event maps
to), per condition (matched / not matched / unknown, the condition's own answer before
``unknown_is_match``), the action with how often it would have run, and the latest few
entries that would have fired.

What the audit does not keep, the replay cannot know: request parameters other than
user, realm and serial, and the response's detail; conditions on them answer unknown.
Conditions about tokens, users and counters see their *current* state, and ``{now}`` is
the time of the backtest, as in a dry run of one audit entry.

Why it stays fast on a large audit: the database filters the window and the events
(``action IN (...)``, the audit's own column) and hands rows over in id order in batches
of ``batch`` (keyset pagination: bounded memory, and no open cursor while conditions
query the same connection, which MariaDB's unbuffered cursors forbid). Only the columns
a replay reads are selected. Since every fact is a function of those columns (the
current state does not change during the run), entries that agree on them share one
evaluation: a busy audit repeats the same user, client and result over and over.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from factorflow.audit.models import AUDIT_TABLE
from factorflow.audit.record import AuditRecord
from factorflow.errors import ParameterError
from factorflow.events.conditions.base import Verdict
from factorflow.events.definition import Definition
from factorflow.events.dryrun import Sample, invocation_of, reply_of, sample_from_entry
from factorflow.events.evaluate import evaluate_definition

if TYPE_CHECKING:
    from factorflow.events.ports import EventPorts

#: The longest window (days) a backtest replays.
MAX_DAYS = 366
#: Audit rows fetched per query.
BATCH = 2000
#: Entries that would have fired, listed in the answer (the latest).
SAMPLES = 5
#: Distinct replays remembered; beyond it the memory starts again (bounded memory).
MEMO_LIMIT = 100_000

#: The audit columns a replay reads (see ``sample_from_entry``).
_COLUMNS = (
    AUDIT_TABLE.c.id,
    AUDIT_TABLE.c.date,
    AUDIT_TABLE.c.action,
    AUDIT_TABLE.c.success,
    AUDIT_TABLE.c.authentication,
    AUDIT_TABLE.c.serial,
    AUDIT_TABLE.c.user,
    AUDIT_TABLE.c.realm,
    AUDIT_TABLE.c.administrator,
    AUDIT_TABLE.c.client,
    AUDIT_TABLE.c.user_agent,
)
_VERDICTS: tuple[Verdict, ...] = ("matched", "not_matched", "unknown")


def window_start(now: datetime, days: int) -> datetime:
    """00:00 UTC of the first of ``days`` calendar days ending today (UTC)."""
    if not 1 <= days <= MAX_DAYS:
        raise ParameterError(f"Invalid parameter 'days': 1 to {MAX_DAYS}")
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days - 1)


def audit_actions(rule_events: dict[str, str], events: Sequence[str]) -> list[str]:
    """The audit ``action`` values (``<METHOD> <rule>``) of requests of ``events``."""
    wanted = set(events)
    return sorted(rule for rule, event in rule_events.items() if event in wanted)


def stream(
    session: Session, actions: Sequence[str], since: datetime, *, batch: int = BATCH
) -> Iterator[Any]:
    """The audit rows (the selected columns as attributes) of ``actions`` dated ``since``
    or later, in id order, up to the newest entry when the stream started (entries
    written meanwhile are not replayed)."""
    if not actions:
        return
    table = AUDIT_TABLE
    # Ids grow with time, except for entries a migration imported with their own dates:
    # start at the first id dated in the window (the date index answers it), keep the
    # date filter for those.
    first = session.scalar(select(func.min(table.c.id)).where(table.c.date >= since))
    last = session.scalar(select(func.max(table.c.id)))
    if first is None or last is None:
        return
    after = first - 1
    while True:
        rows: Sequence[Any] = session.execute(
            select(*_COLUMNS)
            .where(
                table.c.id > after,
                table.c.id <= last,
                table.c.date >= since,
                table.c.action.in_(actions),
            )
            .order_by(table.c.id)
            .limit(batch)
        ).all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id


@dataclass
class _Tally:
    evaluated: int = 0
    fired: int = 0

    def add(self, fires: bool) -> None:
        self.evaluated += 1
        self.fired += fires

    def as_dict(self) -> dict[str, int]:
        return {"evaluated": self.evaluated, "fired": self.fired}


@dataclass
class _Result:
    days: dict[str, _Tally]
    actions: dict[str, _Tally] = field(default_factory=dict)
    conditions: list[Counter[Verdict]] = field(default_factory=list)
    samples: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=SAMPLES))


def _sample_entry(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "date": row.date.astimezone(UTC).isoformat(),
        "action": row.action,
        "success": bool(row.success),
        "authentication": row.authentication or "",
        "user": row.user or "",
        "realm": row.realm or "",
        "serial": row.serial or "",
        "client": row.client or "",
    }


def _memo_key(sample: Sample) -> tuple[Any, ...]:
    result = sample.result or {}
    return (
        sample.event,
        result.get("status"),
        result.get("value"),
        result.get("authentication"),
        sample.params.get("user"),
        sample.params.get("realm"),
        sample.audit_serial,
        sample.actor.role,
        sample.actor.username,
        sample.client_ip,
        sample.user_agent,
    )


def backtest(
    ports: EventPorts,
    session: Session,
    definition: Definition,
    *,
    days: int,
    now: datetime | None = None,
    batch: int = BATCH,
) -> dict[str, Any]:
    """Replay the window through ``definition``'s conditions; see the module docstring."""
    if definition.scheduled:
        raise ParameterError(
            "A scheduled definition has no requests to replay: try it with POST /event/test"
        )
    now = now or datetime.now(UTC)
    since = window_start(now, days)
    rule_events = ports.events.rule_events
    actions = audit_actions(rule_events, definition.events)
    result = _Result(
        days={(since + timedelta(days=n)).date().isoformat(): _Tally() for n in range(days)},
        actions={action: _Tally() for action in actions},
        conditions=[Counter() for _ in definition.conditions],
    )
    memo: dict[tuple[Any, ...], tuple[bool, tuple[Verdict, ...]]] = {}
    savepoint = session.begin_nested()
    try:
        for row in stream(session, actions, since, batch=batch):
            event = rule_events[row.action]
            sample = sample_from_entry(row, event)
            key = _memo_key(sample)
            known = memo.get(key)
            if known is None:
                known = _evaluate(ports, session, definition, sample, now)
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                memo[key] = known
            fires, verdicts = known
            day = row.date.astimezone(UTC).date().isoformat()
            result.days.setdefault(day, _Tally()).add(fires)
            result.actions[row.action].add(fires)
            for counter, verdict in zip(result.conditions, verdicts, strict=True):
                counter[verdict] += 1
            if fires:
                result.samples.append(_sample_entry(row))
    finally:
        savepoint.rollback()
    return _answer(definition, result, days=days, since=since, now=now, rules=rule_events)


def _evaluate(
    ports: EventPorts, session: Session, definition: Definition, sample: Sample, now: datetime
) -> tuple[bool, tuple[Verdict, ...]]:
    inv = invocation_of(sample)
    audit = AuditRecord.begin(inv, node=ports.settings.node_name)
    audit.serial = sample.audit_serial
    # Pre definitions never see a response, post ones see the audited result.
    reply = reply_of(sample.result) if definition.position == "post" else None
    facts = ports.facts(session, inv, audit, reply=reply, now=now)
    evaluation = evaluate_definition(definition, facts, full=True)
    return evaluation.fires, tuple(trace.result for trace in evaluation.trace)


def _answer(
    definition: Definition,
    result: _Result,
    *,
    days: int,
    since: datetime,
    now: datetime,
    rules: dict[str, str],
) -> dict[str, Any]:
    evaluated = sum(t.evaluated for t in result.actions.values())
    fired = sum(t.fired for t in result.actions.values())
    return {
        "id": definition.id or None,
        "name": definition.name,
        "events": list(definition.events),
        "position": definition.position,
        "unknown_is_match": definition.unknown_is_match,
        "condition_expression": definition.condition_expression,
        "days": days,
        "since": since.isoformat(),
        "until": now.astimezone(UTC).isoformat(),
        "evaluated": evaluated,
        "fired": fired,
        "per_day": [{"day": day, **t.as_dict()} for day, t in sorted(result.days.items())],
        "per_action": [
            {"action": action, "event": rules[action], **t.as_dict()}
            for action, t in result.actions.items()
            if t.evaluated
        ],
        "conditions": [
            {
                "condition": compiled.name,
                "value": compiled.raw,
                **{verdict: counter[verdict] for verdict in _VERDICTS},
            }
            for compiled, counter in zip(definition.conditions, result.conditions, strict=True)
        ],
        "action": {
            "module": definition.handlermodule,
            "action": definition.action,
            "options": definition.redacted_options(),
            "would_run": fired,
        },
        "samples": list(reversed(result.samples)),
    }
