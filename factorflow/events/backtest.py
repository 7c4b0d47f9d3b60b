"""Backtest: what a definition would have done on the audited requests of the last N days.

Every audited request of the window whose event the definition listens to is replayed
through its conditions exactly as the dry run replays one audit entry
(:func:`factorflow.events.dryrun.sample_from_audit`): the event, the user and realm,
the serial, the logged-in admin, client IP and user agent, and the result the audit
kept. Nothing runs and nothing is written (a SAVEPOINT that is rolled back makes sure).

Contract of the answer: counts per day of the window (every day, also empty ones, oldest
first), per audited action (``POST /validate/check`` ...: the endpoint the event maps
to), per condition (matched / not matched / unknown, the condition's own answer before
``unknown_is_match``), the action with how often it would have run, and the newest
entries of the last few distinct requests that would have fired.

What the audit does not keep, the replay cannot know: request parameters other than
user, realm and serial, and the response's detail; conditions on them answer unknown.
Conditions about tokens, users and counters see their *current* state, and ``{now}`` is
the time of the backtest, as in a dry run of one audit entry.

Why it stays fast on a large audit: a replay reads only a few columns, and every fact
is a function of them (the current state does not change during the run), so entries
that agree on them are one replay. The database filters the window and the events
(``action IN (...)``, the audit's own column) and counts equal entries per day
(``GROUP BY``), one range of :data:`SPAN` ids at a time in id order: bounded memory
and result sets, and no cursor left open while conditions query the same connection
(MariaDB's unbuffered cursors forbid it). Each distinct replay is evaluated once, also
across ranges (a bounded memory of verdicts): a busy audit repeats the same user,
client and result over and over.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factorflow.audit.models import AUDIT_TABLE, AuditEntry
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
#: Audit ids per query: a query answers at most this many groups (bounded memory).
SPAN = 50_000
#: Entries that would have fired, listed in the answer (the latest).
SAMPLES = 5
#: Distinct replays remembered; beyond it the memory starts again (bounded memory).
MEMO_LIMIT = 100_000

#: Exactly the audit columns a replay reads (``sample_from_entry``): entries equal in
#: them are replayed once (the key of a group and of the evaluations' memory).
_REPLAYED = (
    AUDIT_TABLE.c.action,
    AUDIT_TABLE.c.success,
    AUDIT_TABLE.c.authentication,
    AUDIT_TABLE.c.serial,
    AUDIT_TABLE.c.user,
    AUDIT_TABLE.c.realm,
    AUDIT_TABLE.c.administrator,
    AUDIT_TABLE.c.client,
    AUDIT_TABLE.c.user_agent,
    AUDIT_TABLE.c.info,
)
ONE_DAY = timedelta(days=1)
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
    session: Session,
    actions: Sequence[str],
    since: datetime,
    *,
    span: int = SPAN,
    realms: Set[str] | None = None,
) -> Iterator[Any]:
    """The audited requests of ``actions`` dated ``since`` or later, up to the newest
    entry when the stream started (entries written meanwhile are not replayed), as
    groups of equal entries: per range of ``span`` ids in id order, one row per day and
    :data:`_REPLAYED` values with ``day`` (``YYYY-MM-DD``, UTC), ``entries`` (how many)
    and ``newest`` (the highest id) besides those columns as attributes."""
    if not actions:
        return
    table = AUDIT_TABLE
    # Ids grow with time, except for entries a migration imported with their own dates:
    # start at the first id dated in the window (the date index answers it), keep the
    # date filter for those.
    # An admin limited to some realms replays only their users' requests, as it reads
    # only their entries in GET /audit/.
    in_realms = [func.lower(table.c.realm).in_(sorted(realms))] if realms is not None else []
    first = session.scalar(select(func.min(table.c.id)).where(table.c.date >= since))
    last = session.scalar(select(func.max(table.c.id)))
    if first is None or last is None:
        return
    # Dates are stored as UTC without a zone on every backend: DATE() is the UTC day.
    day = func.date(table.c.date).label("day")
    replayed: Sequence[Any] = _REPLAYED
    if session.get_bind().dialect.name == "mysql":
        # MariaDB compares text without case and trailing blanks: 'HOTP1' and 'hotp1'
        # would be one group, though conditions tell them apart.
        replayed = [
            column.collate("utf8mb4_nopad_bin").label(column.name)
            if column.name != "success"
            else column
            for column in _REPLAYED
        ]
    after = first - 1
    while after < last:
        upto = min(after + span, last)
        yield from session.execute(
            select(
                day,
                *replayed,
                func.count().label("entries"),
                func.max(table.c.id).label("newest"),
            )
            .where(
                table.c.id > after,
                table.c.id <= upto,
                table.c.date >= since,
                table.c.action.in_(actions),
                *in_realms,
            )
            .group_by(day, *replayed)
        ).all()
        after = upto


@dataclass
class _Tally:
    evaluated: int = 0
    fired: int = 0

    def add(self, fires: bool, entries: int) -> None:
        self.evaluated += entries
        self.fired += entries if fires else 0

    def as_dict(self) -> dict[str, int]:
        return {"evaluated": self.evaluated, "fired": self.fired}


@dataclass
class _Result:
    days: list[_Tally]
    actions: dict[str, _Tally] = field(default_factory=dict)
    conditions: list[Counter[Verdict]] = field(default_factory=list)


def _sample_entry(row: AuditEntry) -> dict[str, Any]:
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


def backtest(
    ports: EventPorts,
    session: Session,
    definition: Definition,
    *,
    days: int,
    now: datetime | None = None,
    span: int = SPAN,
    realms: Set[str] | None = None,
) -> dict[str, Any]:
    """Replay the window through ``definition``'s conditions; see the module docstring.
    ``realms`` (lower case): only requests of users in these realms (None: all)."""
    if definition.scheduled:
        raise ParameterError(
            "A scheduled definition has no requests to replay: try it with POST /event/test"
        )
    now = now or datetime.now(UTC)
    since = window_start(now, days)
    rule_events = ports.events.rule_events
    actions = audit_actions(rule_events, definition.events)
    result = _Result(
        days=[_Tally() for _ in range(days)],
        actions={action: _Tally() for action in actions},
        conditions=[Counter() for _ in definition.conditions],
    )
    memo: dict[tuple[Any, ...], tuple[bool, tuple[Verdict, ...]]] = {}
    day_index = {day["day"]: n for n, day in enumerate(_days(since, days))}
    newest_fired: dict[tuple[Any, ...], int] = {}
    savepoint = session.begin_nested()
    try:
        for group in stream(session, actions, since, span=span, realms=realms):
            key = tuple(group[1 : 1 + len(_REPLAYED)])
            known = memo.get(key)
            if known is None:
                sample = sample_from_entry(group, rule_events[group.action])
                known = _evaluate(ports, session, definition, sample, now)
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                memo[key] = known
            fires, verdicts = known
            entries = int(group.entries)
            # An entry dated after today (a skewed clock) counts on the last day.
            day = day_index.get(str(group.day)[:10], days - 1)
            result.days[day].add(fires, entries)
            result.actions[group.action].add(fires, entries)
            for counter, verdict in zip(result.conditions, verdicts, strict=True):
                counter[verdict] += entries
            if fires:
                _keep_newest(newest_fired, key, int(group.newest))
        samples = _samples(session, sorted(newest_fired.values(), reverse=True))
    finally:
        savepoint.rollback()
    return _answer(definition, result, samples, days=days, since=since, now=now, rules=rule_events)


def _keep_newest(newest: dict[tuple[Any, ...], int], key: tuple[Any, ...], number: int) -> None:
    """Keep the newest id of the :data:`SAMPLES` distinct requests seen last that fire
    (ranges come in id order, the groups of one range in any order)."""
    if key in newest:
        newest[key] = max(newest[key], number)
    elif len(newest) < SAMPLES:
        newest[key] = number
    else:
        oldest = min(newest, key=newest.__getitem__)
        if number > newest[oldest]:
            del newest[oldest]
            newest[key] = number


def _days(since: datetime, days: int) -> list[dict[str, Any]]:
    return [{"day": (since + n * ONE_DAY).date().isoformat()} for n in range(days)]


def _samples(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    entries = session.scalars(select(AuditEntry).where(AuditEntry.id.in_(ids)))
    by_id = {entry.id: entry for entry in entries}
    return [_sample_entry(by_id[number]) for number in ids if number in by_id]


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
    samples: list[dict[str, Any]],
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
        "per_day": [
            {**day, **tally.as_dict()}
            for day, tally in zip(_days(since, days), result.days, strict=True)
        ],
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
        "samples": samples,
    }
