"""The soak's invariants (issue 21 item 2), each with the counts it rests on."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from factorflow.audit.models import AuditEntry
from factorflow.db.base import make_engine
from tests.cluster.cluster import Cluster
from tests.cluster.nodes import NODE_ENV
from tests.cluster.sinks import MailSink, WebhookSink, duplicates
from tests.cluster.traffic import Log

#: A request sent up to this long after the SIGKILL may still have gone to the dead
#: node (HAProxy marks it down after two failed checks 0.5 s apart).
DETECTION_SECONDS = 2.0
#: Galera holds commits this long after a node vanished (evs.suspect_timeout PT3S, and
#: the view change after it).
EVICTION_SECONDS = 6.0
LEASE_SECONDS = float(NODE_ENV["FACTORFLOW_JOB_LEASE_SECONDS"])


@dataclass
class Chaos:
    started: float
    killed: tuple[str, float] | None = None
    restarted: float | None = None
    #: (database node, the Factorflow nodes writing to it, when).
    db_killed: tuple[str, list[str], float] | None = None
    db_transfer: str = ""
    db_rejoined: float | None = None
    ended: float = 0.0
    #: Set when the chaos is over; the chaos thread waits for ``release`` to end.
    done: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class Invariant:
    name: str
    ok: bool
    counts: dict[str, Any] = field(default_factory=dict)


def _otp_once(log: Log) -> Invariant:
    # Counter -1: an OTP that had been accepted, sent again through HAProxy.
    replays = sum(n for (_, counter), n in log.accepted.items() if counter == -1)
    twice = sum(1 for (_, c), n in log.accepted.items() if c >= 0 and n > 1)
    checks = sum(1 for s in log.sent if s.what in ("check", "replay", "answer"))
    accepted = sum(1 for (_, c), n in log.accepted.items() if c >= 0 and n)
    rounds = Counter(log.replay_rounds)
    return Invariant("every OTP accepted at most once across nodes", twice == 0 and replays == 0,
                     {"checks": checks, "otps accepted": accepted, "accepted twice": twice,
                      "used OTP replayed and accepted": replays,
                      "concurrent replay rounds": len(log.replay_rounds),
                      "rounds by winners": dict(sorted(rounds.items()))})  # fmt: skip


def _challenges(log: Log) -> Invariant:
    answered = sum(1 for *_, good in log.challenges if good)
    pairs = Counter(f"{a}->{b}" for a, b, good in log.challenges if good)
    return Invariant("a challenge from node A is answered through node B",
                     bool(log.challenges) and answered == len(log.challenges),
                     {"rounds": len(log.challenges), "answered": answered,
                      "pairs": dict(sorted(pairs.items()))})  # fmt: skip


def _edits(log: Log, chaos: Chaos) -> Invariant:
    """The verdict: every request sent to a node 1 s after the save shows the edit.
    Edits saved while Galera evicts a killed database node are counted apart: the
    cluster holds every commit until the dead node is declared gone
    (evs.suspect_timeout), the edit's own save included."""
    stall = (chaos.db_killed[2] - 1, chaos.db_killed[2] + EVICTION_SECONDS) if (
        chaos.db_killed) else (0.0, 0.0)  # fmt: skip
    normal = [e for e in log.edits if not stall[0] <= e.saved <= stall[1]]
    verdicts = [v for e in normal for v in e.after_1s.values()]
    sightings = [v for e in normal for v in e.first_seen.values()]
    quick = [v for v in sightings if v is not None and v <= 1.0]
    slowest = max((v for v in sightings if v is not None), default=0.0)
    return Invariant("a definition edit takes effect on every node within 1 s",
                     bool(verdicts) and all(verdicts),
                     {"edits": len(log.edits), "requests 1 s after": len(verdicts),
                      "not showing it": verdicts.count(False),
                      "first answer showing it within 1 s": f"{len(quick)}/{len(sightings)}",
                      "slowest first answer s": round(slowest, 3),
                      "edits during the Galera eviction": len(log.edits) - len(normal)})  # fmt: skip


def _scheduled(cluster: Cluster, definition_id: int, chaos: Chaos) -> Invariant:
    engine = make_engine(cluster.database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(AuditEntry.action_detail, AuditEntry.privacyidea_server).where(
                    AuditEntry.action == f"SCHEDULED /event/{definition_id}"
                )
            ).all()
    finally:
        engine.dispose()
    slots = Counter(json.loads(detail or "{}").get("slot", "") for detail, _ in rows)
    twice = {slot: n for slot, n in slots.items() if n > 1}
    minutes = (chaos.ended - chaos.started) / 60
    return Invariant("each scheduled slot runs once", not twice and (minutes < 1.2 or bool(slots)),
                     {"slots run": len(slots), "slots run twice": len(twice),
                      "nodes that ran them": sorted({node for _, node in rows})})  # fmt: skip


def _deliveries(log: Log, mail: MailSink, hook: WebhookSink, chaos: Chaos) -> Invariant:
    enrolled = set(log.enrolled)

    def arrived() -> tuple[set[str], set[str]]:
        with mail.lock, hook.lock:
            return {a.serial for a in mail.arrivals}, {a.serial for a in hook.arrivals}

    deadline = time.monotonic() + LEASE_SECONDS + 30
    mailed, hooked = arrived()
    while time.monotonic() < deadline and not (enrolled <= mailed and enrolled <= hooked):
        time.sleep(0.5)
        mailed, hooked = arrived()
    window = (chaos.killed[1], (chaos.restarted or chaos.ended) + LEASE_SECONDS + 5) if (
        chaos.killed) else (0.0, 0.0)  # fmt: skip
    extra = duplicates(mail.arrivals) + duplicates(hook.arrivals)
    outside = [a for a in extra if not window[0] <= a.at <= window[1]]
    missing = len(enrolled - mailed) + len(enrolled - hooked)
    return Invariant("each job delivered at least once, duplicates share their key",
                     bool(enrolled) and missing == 0 and not outside,
                     {"enrolments": len(enrolled), "mails": len(mail.arrivals),
                      "webhooks": len(hook.arrivals), "missing": missing,
                      "duplicates in kill window": len(extra) - len(outside),
                      "duplicates outside": len(outside)})  # fmt: skip


def _no_5xx(log: Log, chaos: Chaos) -> Invariant:
    failed = [s for s in log.sent if s.status >= 500]
    in_kill = in_db = 0
    outside = Counter[str]()
    for sent in failed:
        if (
            chaos.killed
            and sent.started <= chaos.killed[1] + DETECTION_SECONDS
            and (sent.ended >= chaos.killed[1])
            and sent.node in (chaos.killed[0], "haproxy")
        ):
            in_kill += 1
        elif (
            chaos.db_killed
            and sent.node in chaos.db_killed[1]
            and (chaos.db_killed[2] - 1 <= sent.started <= chaos.db_killed[2] + DETECTION_SECONDS)
        ):
            in_db += 1
        else:
            outside[f"{sent.what}@{sent.node}:{sent.status}"] += 1
    served = Counter(s.node for s in log.sent if s.via == "haproxy" and s.status)
    return Invariant("no 5xx except requests in flight on the killed node", not outside,
                     {"requests": len(log.sent), "5xx in flight on killed node": in_kill,
                      "5xx on the killed database node's writers": in_db,
                      "5xx outside": dict(outside),
                      "no answer (node down)": dict(Counter(
                          f"{s.what}@{s.node or s.via}" for s in log.sent if s.status == 0
                      ).most_common(4)),
                      "balanced answers by node": dict(sorted(served.items()))})  # fmt: skip


def _came_back(log: Log, chaos: Chaos) -> Invariant:
    """The restarted node answers again, through HAProxy, until the end."""
    name = chaos.killed[0] if chaos.killed else "-"
    after = [s for s in log.sent if chaos.restarted and s.started > chaos.restarted
             and s.node == name and s.status == 200 and s.via == "haproxy"]  # fmt: skip
    late = [s for s in after if s.started > chaos.ended - 10]
    return Invariant("the killed node came back", bool(after) and bool(late),
                     {"killed": name, "answers after its restart": len(after),
                      "of them in the last 10 s": len(late)})  # fmt: skip


def _galera(chaos: Chaos, counters: dict[str, int]) -> Invariant:
    return Invariant("Galera: a killed database node rejoins, conflicts are retried",
                     chaos.db_transfer in ("IST", "SST"),
                     {"rejoined by": chaos.db_transfer or "-",
                      "database node killed": chaos.db_killed[0] if chaos.db_killed else "-",
                      **counters})  # fmt: skip


def check_all(
    cluster: Cluster,
    log: Log,
    chaos: Chaos,
    mail: MailSink,
    hook: WebhookSink,
    scheduled_id: int,
    galera_counters: dict[str, int],
) -> list[Invariant]:
    found = [
        _otp_once(log),
        _challenges(log),
        _edits(log, chaos),
        _scheduled(cluster, scheduled_id, chaos),
        _deliveries(log, mail, hook, chaos),
        _no_5xx(log, chaos),
        _came_back(log, chaos),
    ]
    if cluster.galera is not None:
        found.append(_galera(chaos, galera_counters))
    return found
