"""The bounded soak of issue 21: mixed traffic through HAProxy over N nodes while one
node is SIGKILLed and restarted (and, on Galera, one database node is killed and
rejoins), then the invariants, each printed with its counts.

By hand: ``python -m tests.cluster.soak --minutes 5 --database galera`` (as root, for
Galera; the suite runs the short form in ``tests/cluster/test_soak.py``).
"""

from __future__ import annotations

import argparse
import base64
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.cluster import cluster as topology
from tests.cluster.cluster import Cluster
from tests.cluster.invariants import Chaos, Invariant, check_all
from tests.cluster.nodes import ADMIN, ADMIN_PASSWORD
from tests.cluster.sinks import MailSink, SmtpServer, WebhookSink
from tests.cluster.traffic import Token, Traffic


def ok(reply: httpx.Response) -> object:
    assert reply.status_code == 200, reply.text
    return reply.json()["result"]["value"]


@dataclass
class Setup:
    headers: dict[str, str]
    marker: dict[str, str]
    scheduled_id: int
    checks: list[Token] = field(default_factory=list)
    replay: Token | None = None
    challenge: Token | None = None


def configure(front: str, mail: SmtpServer, hook: WebhookSink, checkers: int) -> Setup:
    """Through HAProxy: the SMTP server, the definitions, the policy and the tokens."""
    with httpx.Client(base_url=front, timeout=30) as c:
        token = ok(c.post("/auth", data={"username": ADMIN, "password": ADMIN_PASSWORD}))
        headers = {"Authorization": str(token["token"])}  # type: ignore[index]
        ok(c.post("/smtpserver/mail1", headers=headers,
                  data={"server": "127.0.0.1", "port": str(mail.port),
                        "sender": "mfa@example.org", "timeout": "5"}))  # fmt: skip
        common = {"event": "token_init", "position": "post", "active": "1"}
        ok(c.post("/event", headers=headers, data={
            **common, "name": "mail on enrolment", "handlermodule": "UserNotification",
            "action": "sendmail", "option.emailconfig": "mail1", "option.To": "email",
            "option.To email": "soc@example.org", "option.subject": "enrolled {serial}",
            "option.body": "token {serial}"}))  # fmt: skip
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        ok(c.post("/event", headers=headers, data={
            **common, "name": "hook on enrolment", "handlermodule": "WebHook",
            "action": "post_webhook", "option.URL": hook.url, "option.replace": "1",
            "option.data": '{"serial": "{serial}"}', "option.secret": secret}))  # fmt: skip
        marker = {"name": "marker", "event": "system_nodes", "position": "post", "active": "1",
                  "handlermodule": "ResponseMangler", "action": "set",
                  "option.JSON pointer": "/detail/marker", "option.type": "string"}  # fmt: skip
        marker["id"] = str(ok(c.post("/event", headers=headers,
                                     data={**marker, "option.value": "v0"})))  # fmt: skip
        scheduled = int(str(ok(c.post("/event", headers=headers, data={
            "name": "every minute", "schedule": "every 1m", "handlermodule": "Counter",
            "action": "increase_counter", "option.counter_name": "soak", "active": "1"}))))  # fmt: skip
        ok(c.post("/policy/soak-challenges", headers=headers,
                  data={"scope": "authentication", "action": "challenge_response=hotp"}))  # fmt: skip
        setup = Setup(headers, marker, scheduled)

        def token(serial: str, pin: str = "") -> Token:
            key = secrets.token_bytes(20)
            ok(c.post("/token/init", headers=headers, data={
                "type": "hotp", "serial": serial, "otpkey": key.hex(), "pin": pin}))  # fmt: skip
            return Token(serial, key, pin=pin)

        setup.checks = [token(f"SOAKCHK{i}") for i in range(checkers)]
        setup.replay = token("SOAKREPLAY")
        setup.challenge = token("SOAKCHAL", pin="chal-pin-1")
        return setup


def chaos(cluster: Cluster, traffic: Traffic, seconds: float, record: Chaos) -> None:
    """Kill one Factorflow node at 30 % and restart it; on Galera kill a database node
    at 55 % and let it rejoin from its recovered position. The thread lives on until
    ``record.release``: a node asks for SIGTERM when the thread that started it ends
    (PR_SET_PDEATHSIG, :mod:`factorflow.api.lifeline`), so the restarted node would
    otherwise stop with it."""
    try:
        _chaos(cluster, traffic, seconds, record)
    finally:
        record.done.set()
        record.release.wait()


def _chaos(cluster: Cluster, traffic: Traffic, seconds: float, record: Chaos) -> None:
    start = time.monotonic()
    victim = cluster.nodes[1] if len(cluster.nodes) > 1 else cluster.nodes[0]
    traffic.stop.wait(seconds * 0.3)
    if traffic.stop.is_set():
        return
    traffic.down.add(victim.name)
    record.killed = (victim.name, time.monotonic())
    victim.kill()
    traffic.stop.wait(3)
    victim.start()
    victim.wait_ready(timeout=180)
    traffic.down.discard(victim.name)
    record.restarted = time.monotonic()
    if cluster.galera is None:
        return
    traffic.stop.wait(max(0.0, start + seconds * 0.55 - time.monotonic()))
    db = cluster.galera.nodes[2]
    writers = [n for n, g in cluster.prefers.items() if g == db.name]
    record.db_killed = (db.name, writers, time.monotonic())
    cluster.galera.kill_node(db)
    traffic.stop.wait(5)
    record.db_transfer = cluster.galera.rejoin(db)
    record.db_rejoined = time.monotonic()


def soak(cluster: Cluster, seconds: float, checkers: int = 3) -> list[Invariant]:
    recorder = MailSink()
    mail, hook = SmtpServer(recorder), WebhookSink()
    mail.start()
    hook.start()
    record: Chaos | None = None
    try:
        setup = configure(cluster.balancer.url, mail, hook, checkers)
        before = cluster.galera.counters() if cluster.galera else {}
        traffic = Traffic(cluster.balancer.url, {n.name: n.url for n in cluster.nodes},
                          setup.headers)  # fmt: skip
        assert setup.replay is not None and setup.challenge is not None
        loops = [traffic.loop(traffic.checks(t), 0.05) for t in setup.checks]
        loops += [traffic.loop(traffic.replays(setup.replay), 1.0),
                  traffic.loop(traffic.challenges(setup.challenge), 1.5),
                  traffic.loop(traffic.enrolments(), 1.5),
                  traffic.loop(traffic.edits(setup.marker), 2.0)]  # fmt: skip
        threads = [threading.Thread(target=f, daemon=True) for f in loops]
        record = Chaos(started=time.monotonic())
        chaos_thread = threading.Thread(
            target=chaos, args=(cluster, traffic, seconds, record), daemon=True
        )
        for thread in [*threads, chaos_thread]:
            thread.start()
        traffic.stop.wait(seconds)
        record.done.wait(timeout=240)  # a rejoin in progress finishes first
        traffic.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        record.ended = time.monotonic()
        after = cluster.galera.counters() if cluster.galera else {}
        return check_all(cluster, traffic.log, record, recorder, hook, setup.scheduled_id,
                         {k: after.get(k, 0) - before.get(k, 0) for k in after})  # fmt: skip
    finally:
        if record is not None:
            record.release.set()
        mail.stop()
        hook.stop()


def report(invariants: list[Invariant]) -> str:
    width = max(len(i.name) for i in invariants)
    lines = [f"{'PASS' if i.ok else 'FAIL'}  {i.name:<{width}}  {i.counts}" for i in invariants]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--database", choices=topology.DATABASES, default="postgresql")
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args()
    # SIGTERM ends the soak as Ctrl-C does: every process stopped, the directory removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    reason = topology.unavailable(args.database)
    if reason:
        print(f"cannot start: {reason}", file=sys.stderr)
        return 2
    with topology.running(args.database, args.nodes) as cluster:
        invariants = soak(cluster, args.minutes * 60)
    print(report(invariants))
    return 0 if all(i.ok for i in invariants) else 1


if __name__ == "__main__":
    sys.exit(main())
