"""A request that writes commits its audit entries in its own transaction (ADR 0014);
when it cannot (another node wrote last) or that transaction fails, the entries are
written after it, and the chain stays whole either way."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.db.base import transaction
from factorflow.tokens.models import Token
from tests.audit.chain_helpers import head_row, record, verify, write
from tests.audit.test_chain_concurrency import other_node
from tests.conftest import BACKEND
from tests.factories import audit_entries
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, init_token

__all__ = ["other_node"]

H = dict[str, str]


@contextmanager
def transactions(services: Services) -> Iterator[list[list[str]]]:
    """The statements of each transaction begun while the block runs (first words)."""
    seen: list[list[str]] = []
    current: dict[int, list[str]] = {}

    def begun(conn: Any) -> None:
        current[id(conn)] = []
        seen.append(current[id(conn)])

    def executed(conn: Any, _cursor: object, statement: str, *_args: object) -> None:
        words = " ".join(statement.split()[:3]).upper()
        if id(conn) in current and not words.startswith("BEGIN"):
            current[id(conn)].append(words)

    event.listen(services.engine, "begin", begun)
    event.listen(services.engine, "before_cursor_execute", executed)
    try:
        yield seen
    finally:
        event.remove(services.engine, "before_cursor_execute", executed)
        event.remove(services.engine, "begin", begun)


def writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith(("UPDATE", "INSERT", "DELETE"))]


@pytest.fixture
def hotp_serial(client: TestClient, admin_headers: H, flatfile_realm: str) -> str:
    serial: str = init_token(
        client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, pin="1234", user="alice"
    )["detail"]["serial"]
    return serial


def check(client: TestClient, otp: str) -> str:
    reply = client.post("/validate/check", data={"user": "alice", "pass": "1234" + otp})
    return str(reply.json()["result"].get("authentication"))


def test_a_check_and_its_audit_entries_commit_in_one_transaction(
    services: Services, client: TestClient, hotp_serial: str
) -> None:
    assert check(client, RFC4226_OTPS[0]) == "ACCEPT"  # this node's anchor names the head
    with transactions(services) as seen:
        assert check(client, RFC4226_OTPS[1]) == "ACCEPT"
    writing = [writes(statements) for statements in seen if writes(statements)]
    assert len(writing) == 1, seen
    assert "UPDATE TOKEN SET" in writing[0]
    # The audit's two statements are the transaction's last.
    assert writing[0][-2:] == ["UPDATE AUDIT_CHAIN SET", "INSERT INTO AUDIT"]
    assert verify(services).ok


def test_when_the_commit_fails_the_change_is_undone_and_the_failure_audited(
    services: Services, client: TestClient, admin_headers: H, hotp_serial: str
) -> None:
    assert check(client, RFC4226_OTPS[0]) == "ACCEPT"
    failing = {"armed": True}

    def executed(conn: Any, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT") and failing["armed"]:
            conn.info["fail_commit"] = True

    def committing(conn: Any) -> None:
        if conn.info.pop("fail_commit", False):
            failing["armed"] = False
            raise RuntimeError("the disk is full")

    event.listen(services.engine, "before_cursor_execute", executed)
    event.listen(services.engine, "commit", committing)
    try:
        reply = client.post(
            "/validate/check", data={"user": "alice", "pass": "1234" + RFC4226_OTPS[1]}
        )
    finally:
        event.remove(services.engine, "commit", committing)
        event.remove(services.engine, "before_cursor_execute", executed)
    assert not failing["armed"], "the staged audit commit was not reached"
    assert reply.status_code == 500 and reply.json()["result"]["status"] is False
    # The counter did not move: the OTP is still unused.
    assert check(client, RFC4226_OTPS[1]) == "ACCEPT"
    entries = audit_entries(client, admin_headers, action="POST /validate/check")
    by_id = sorted(entries, key=lambda entry: int(entry["number"]))
    failed = by_id[-2]
    assert failed["success"] in (0, False) and failed["authentication"] != "ACCEPT", failed
    assert failed["info"] == "internal error"
    report = verify(services)
    assert report.ok, report.findings


def test_after_another_node_wrote_the_entry_follows_the_transaction(
    services: Services, client: TestClient, hotp_serial: str, other_node: Services
) -> None:
    assert check(client, RFC4226_OTPS[0]) == "ACCEPT"
    write(other_node, 2)  # this node's anchor no longer names the head
    with transactions(services) as seen:
        assert check(client, RFC4226_OTPS[1]) == "ACCEPT"
    writing = [writes(statements) for statements in seen if writes(statements)]
    assert len(writing) == 2, seen
    assert "INSERT INTO AUDIT" not in writing[0] and "INSERT INTO AUDIT" in writing[1]
    with transactions(services) as seen:  # caught up: in one transaction again
        assert check(client, RFC4226_OTPS[2]) == "ACCEPT"
    assert len([s for s in seen if writes(s)]) == 1, seen
    with services.sessions.begin() as session:
        report = services.audit.verify(session, anchors=[other_node.audit.anchor_path])
    assert report.ok, report.findings
    assert head_row(services)["seq"] == head_row(other_node)["seq"]


def test_reads_and_writes_at_once_take_their_locks_in_one_order(
    services: Services, client: TestClient, admin_headers: H, hotp_serial: str
) -> None:
    """A read's audit is written after it (the writer's turn, then the node lock), a
    write's within it (the same order): mixed at once, they all finish."""
    client.post(
        "/token/set", data={"serial": hotp_serial, "max_failcount": 1000}, headers=admin_headers
    )
    threads, rounds = 6, 8
    barrier = threading.Barrier(threads)

    finished: list[int] = []
    failures: list[str] = []

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(rounds):
            if (n + i) % 2:
                response = client.get("/token/", headers=admin_headers)
            else:
                response = client.post(
                    "/validate/check", data={"user": "alice", "pass": "1234000000"}
                )
            if response.status_code != 200:
                failures.append(response.text)
            finished.append(n)

    # Daemon threads: a deadlock fails the test instead of hanging the run at exit.
    workers = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    for thread in workers:
        thread.start()
    deadline = time.monotonic() + 90
    for thread in workers:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not failures, failures[:3]
    assert len(finished) == threads * rounds, "requests are stuck: a lock-order deadlock"
    report = verify(services)
    assert report.ok, report.findings


def _lock_wait_limit(session: Session, seconds: int) -> None:
    # A deadlock through the node lock is invisible to the database: without a limit on
    # lock waits the failing test would hang (and every later test behind its locks).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = '{seconds}s'"))
    else:
        session.execute(text(f"SET SESSION innodb_lock_wait_timeout = {seconds}"))


@pytest.mark.skipif(
    BACKEND == "sqlite", reason="SQLite has one writer: no two transactions hold row locks"
)
def test_changes_waiting_in_the_session_are_sent_before_the_node_lock(
    services: Services, hotp_serial: str
) -> None:
    """A transaction whose change still waits in the session (ORM state, sent at the
    commit) must send it before it takes the node lock. Otherwise it holds the node lock
    while its change waits for a row that another transaction locked, and that one waits
    for the node lock: a deadlock that only a lock-wait limit ends."""
    write(services, 1)  # this node's anchor names the head
    locked = threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction(services.sessions, write=True) as session:
                session.execute(
                    update(Token).where(Token.serial == hotp_serial).values(description="first")
                )
                locked.set()
                time.sleep(0.5)  # the other transaction reaches its audit meanwhile
                outcome["first"] = services.audit.write_within(session, record("first"))
        except Exception as exc:  # reported by the assertion below
            outcome["first"] = exc

    thread = threading.Thread(target=first, daemon=True)
    thread.start()
    assert locked.wait(10)
    with transaction(services.sessions, write=True) as session:
        _lock_wait_limit(session, 5)
        token = session.scalars(select(Token).where(Token.serial == hotp_serial)).one()
        token.description = "second"  # pending until the session sends it
        assert services.audit.write_within(session, record("second")) is not None
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert outcome["first"] is not None and not isinstance(outcome["first"], Exception), outcome
    with services.sessions.begin() as session:
        description = session.scalar(select(Token.description).where(Token.serial == hotp_serial))
    assert description == "second"
    assert verify(services).ok
