"""The soak's traffic: loops in threads until ``stop`` is set, each noting every
request it made (when, through which node, the status) in a :class:`Log`."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.hotp import hotp
from tests.cluster.balancer import SERVED_BY


@dataclass(frozen=True)
class Sent:
    what: str
    via: str  # "haproxy" or the node addressed directly
    node: str  # the node that answered (HAProxy's header), "" if unknown
    status: int  # 0: no answer (connection refused or reset)
    started: float
    ended: float


@dataclass(frozen=True)
class Edit:
    """One definition edit: when it was saved; per node the seconds until a probe's
    answer first showed it (None: not within 1 s); per node whether a request sent
    1 s after the save showed it."""

    saved: float
    first_seen: dict[str, float | None]
    after_1s: dict[str, bool]


@dataclass
class Log:
    sent: list[Sent] = field(default_factory=list)
    #: (serial, counter) → times its OTP was accepted.
    accepted: Counter[tuple[str, int]] = field(default_factory=Counter)
    #: Concurrent replay rounds: how many of the nodes accepted the same OTP.
    replay_rounds: list[int] = field(default_factory=list)
    #: Challenge rounds: (node A, node B, answered through B).
    challenges: list[tuple[str, str, bool]] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    #: Serials enrolled (each owes one mail and one webhook).
    enrolled: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(
        self, client: httpx.Client, what: str, via: str, method: str, url: str, **kw: Any
    ) -> httpx.Response | None:
        started = time.monotonic()
        try:
            reply: httpx.Response | None = client.request(method, url, timeout=30, **kw)
        except httpx.HTTPError:
            reply = None
        sent = Sent(what, via, reply.headers.get(SERVED_BY, via) if reply is not None else "",
                    reply.status_code if reply is not None else 0, started, time.monotonic())  # fmt: skip
        with self.lock:
            self.sent.append(sent)
        return reply


@dataclass
class Token:
    serial: str
    key: bytes
    counter: int = 0
    pin: str = ""

    def next_otp(self) -> tuple[int, str]:
        counter = self.counter
        self.counter += 1
        return counter, hotp(self.key, counter)


def accepted(reply: httpx.Response | None) -> bool:
    return (
        reply is not None
        and reply.status_code == 200
        and (reply.json()["result"].get("value") is True)
    )


class Traffic:
    """The loops; ``nodes`` maps node names to their direct URLs, ``up`` says which are
    running (the chaos thread keeps it current)."""

    def __init__(self, front: str, nodes: dict[str, str], headers: dict[str, str]) -> None:
        self.front, self.nodes, self.headers = front, nodes, headers
        self.log = Log()
        self.stop = threading.Event()
        self.down: set[str] = set()

    def up_nodes(self) -> list[str]:
        return [n for n in self.nodes if n not in self.down]

    def loop(self, body: Callable[[httpx.Client], None], pause: float) -> Callable[[], None]:
        def run() -> None:
            with httpx.Client() as client:
                while not self.stop.is_set():
                    body(client)
                    self.stop.wait(pause)

        return run

    def checks(self, token: Token) -> Callable[[httpx.Client], None]:
        """/validate/check through HAProxy with the token's next OTP; now and then the
        last accepted OTP again (a replay that must fail)."""
        last: list[str] = []

        def body(client: httpx.Client) -> None:
            if last and secrets.randbelow(5) == 0:
                reply = self.log.call(client, "check-replay", "haproxy", "POST",
                                      f"{self.front}/validate/check",
                                      data={"serial": token.serial, "pass": last[0]})  # fmt: skip
                if accepted(reply):
                    with self.log.lock:
                        self.log.accepted[(token.serial, -1)] += 1
                return
            counter, otp = token.next_otp()
            reply = self.log.call(client, "check", "haproxy", "POST",
                                  f"{self.front}/validate/check",
                                  data={"serial": token.serial, "pass": otp})  # fmt: skip
            if accepted(reply):
                with self.log.lock:
                    self.log.accepted[(token.serial, counter)] += 1
                last[:] = [otp]

        return body

    def replays(self, token: Token) -> Callable[[httpx.Client], None]:
        """The same fresh OTP to every running node at once (directly, not balanced)."""
        pool = ThreadPoolExecutor(max_workers=len(self.nodes))

        def body(client: httpx.Client) -> None:
            counter, otp = token.next_otp()
            targets = self.up_nodes()
            barrier = threading.Barrier(len(targets))

            def one(name: str) -> bool:
                with httpx.Client() as own:
                    barrier.wait(timeout=10)
                    return accepted(self.log.call(own, "replay", name, "POST",
                                                  f"{self.nodes[name]}/validate/check",
                                                  data={"serial": token.serial, "pass": otp}))  # fmt: skip

            wins = sum(pool.map(one, targets))
            with self.log.lock:
                self.log.replay_rounds.append(wins)
                self.log.accepted[(token.serial, counter)] += wins

        return body

    def challenges(self, token: Token) -> Callable[[httpx.Client], None]:
        """PIN alone to node A opens a challenge; the OTP with its transaction id goes to
        node B."""
        turn = [0]

        def body(client: httpx.Client) -> None:
            targets = self.up_nodes()
            if len(targets) < 2:
                return
            a, b = targets[turn[0] % len(targets)], targets[(turn[0] + 1) % len(targets)]
            turn[0] += 1
            opened = self.log.call(client, "challenge", a, "POST",
                                   f"{self.nodes[a]}/validate/check",
                                   data={"serial": token.serial, "pass": token.pin})  # fmt: skip
            if opened is None or opened.status_code != 200:
                return
            tid = opened.json().get("detail", {}).get("transaction_id")
            counter, otp = token.next_otp()
            answer = self.log.call(client, "answer", b, "POST", f"{self.nodes[b]}/validate/check",
                                   data={"serial": token.serial, "pass": otp,
                                         "transaction_id": tid})  # fmt: skip
            if answer is None or answer.status_code != 200:
                return  # node B went away meanwhile: not a verdict on the challenge
            ok = accepted(answer)
            with self.log.lock:
                self.log.challenges.append((a, b, bool(tid) and ok))
                if ok:
                    self.log.accepted[(token.serial, counter)] += 1

        return body

    def enrolments(self) -> Callable[[httpx.Client], None]:
        def body(client: httpx.Client) -> None:
            reply = self.log.call(client, "enrol", "haproxy", "POST", f"{self.front}/token/init",
                                  data={"type": "hotp", "genkey": "1"}, headers=self.headers)  # fmt: skip
            if reply is not None and reply.status_code == 200:
                with self.log.lock:
                    self.log.enrolled.append(reply.json()["detail"]["serial"])

        return body

    def edits(self, definition: dict[str, str]) -> Callable[[httpx.Client], None]:
        """Change the marker definition through HAProxy. Until 1 s has passed, poll every
        running node for the new value (the first sighting, timed at the answer's end);
        then send each node one more request: sent 1 s or more after the save, it must
        show the new value whatever its own latency (the invariant's verdict)."""
        version = [0]

        def shows(client: httpx.Client, name: str, marker: str) -> bool | None:
            reply = self.log.call(client, "edit-probe", name, "GET",
                                  f"{self.nodes[name]}/system/nodes", headers=self.headers)  # fmt: skip
            if reply is None or reply.status_code != 200:
                return None  # the node is going away: no verdict
            return bool(reply.json().get("detail", {}).get("marker") == marker)

        def body(client: httpx.Client) -> None:
            version[0] += 1
            marker = f"v{version[0]}"
            form = {**definition, "option.value": marker}
            saved = self.log.call(client, "edit", "haproxy", "POST", f"{self.front}/event",
                                  data=form, headers=self.headers)  # fmt: skip
            if saved is None or saved.status_code != 200:
                return
            start = time.monotonic()
            names = self.up_nodes()
            seen: dict[str, float | None] = dict.fromkeys(names)
            while time.monotonic() - start < 1.0 and any(v is None for v in seen.values()):
                for name in [n for n, v in seen.items() if v is None]:
                    if shows(client, name, marker):
                        seen[name] = time.monotonic() - start
                time.sleep(0.05)
            time.sleep(max(0.0, start + 1.0 - time.monotonic()))
            verdict = {name: shows(client, name, marker) for name in names}
            # A node killed meanwhile shows nothing: not a verdict on propagation.
            kept = {n: v for n, v in verdict.items() if v is not None and n not in self.down}
            with self.log.lock:
                self.log.edits.append(Edit(start, seen, kept))

        return body
