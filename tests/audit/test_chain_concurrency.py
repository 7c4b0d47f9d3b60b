"""Concurrent writers — threads, and two ``Services`` on one database as two processes
of one node or two nodes would be — leave one chain without gaps, duplicates or lost
links, and an audit write stays two statements."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import event

from factorflow.audit.verify import Tamper
from factorflow.bootstrap import Services, build_services
from tests.audit.chain_helpers import head_row, ids, record, roll_back, verify, write
from tests.conftest import test_settings as settings_for

THREADS_PER_NODE = 4
WRITES_PER_THREAD = 15


def second_services(data_dir: Path, database_url: str) -> Iterator[Services]:
    other = build_services(settings_for(data_dir, database_url), migrate=False)
    try:
        yield other
    finally:
        other.close()


@pytest.fixture
def same_node(services: Services, database_url: str) -> Iterator[Services]:
    """Another process on this node: same data directory, so the same anchor."""
    yield from second_services(services.settings.data_dir, database_url)


@pytest.fixture
def other_node(services: Services, database_url: str, tmp_path: Path) -> Iterator[Services]:
    """Another node: its own data directory (with a copy of the audit key)."""
    data_dir = tmp_path / "node2"
    data_dir.mkdir(mode=0o700)
    for name in ("audit.key", "encryption.key", "jwt.secret"):
        (data_dir / name).write_bytes((services.settings.data_dir / name).read_bytes())
    yield from second_services(data_dir, database_url)


def hammer(*nodes: Services) -> int:
    """Write from THREADS_PER_NODE threads per node at once; return the entries written."""

    def writer(node: Services, thread: int) -> None:
        for n in range(WRITES_PER_THREAD):
            # Every other write carries an action entry: two chain steps in one write.
            assert node.audit.write(record(f"t{thread}-{n}", children=n % 2))

    with ThreadPoolExecutor(max_workers=THREADS_PER_NODE * len(nodes)) as pool:
        futures = [
            pool.submit(writer, node, thread)
            for node in nodes
            for thread in range(THREADS_PER_NODE)
        ]
        for future in futures:
            future.result()
    per_thread = WRITES_PER_THREAD + WRITES_PER_THREAD // 2
    return per_thread * THREADS_PER_NODE * len(nodes)


def assert_one_chain(services: Services, entries: int) -> None:
    assert ids(services) == list(range(1, entries + 1))
    assert head_row(services)["seq"] == entries


def test_threads_and_two_processes_of_one_node(services: Services, same_node: Services) -> None:
    entries = hammer(services, same_node)
    assert_one_chain(services, entries)
    report = verify(services)
    assert report.ok, report.findings
    assert report.checked == entries and report.anchors == 1


def test_two_nodes_each_with_its_anchor(services: Services, other_node: Services) -> None:
    entries = hammer(services, other_node)
    assert_one_chain(services, entries)
    with services.sessions.begin() as session:
        report = services.audit.verify(session, anchors=[other_node.audit.anchor_path])
    assert report.ok, report.findings
    assert report.anchors == 2


def test_a_node_that_was_not_written_to_for_a_while_catches_up(
    services: Services, other_node: Services
) -> None:
    write(services, 3)
    write(other_node, 5)
    write(services, 2)
    with services.sessions.begin() as session:
        report = services.audit.verify(session, anchors=[other_node.audit.anchor_path])
    assert report.ok and report.anchors == 2


def test_a_node_that_missed_a_rollback_still_reports_it(
    services: Services, other_node: Services
) -> None:
    """The other node's anchor is evidence of entries this node never saw."""
    lost = roll_back(services, kept=2, lost=3, writer=other_node)
    write(services, 4)  # this node's anchor is still consistent: it moves on
    with services.sessions.begin() as session:
        report = services.audit.verify(session, anchors=[other_node.audit.anchor_path])
    assert Tamper.ROLLED_BACK in report.findings
    assert report.first_bad == lost[-1]


def test_an_audit_write_is_two_statements(services: Services) -> None:
    write(services, 1)  # this node's anchor now names the head: the next write hits
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()[:3]).upper())

    event.listen(services.engine, "before_cursor_execute", seen)
    try:
        assert services.audit.write(record("measured", children=2))
    finally:
        event.remove(services.engine, "before_cursor_execute", seen)
    assert [s for s in statements if not s.startswith(("BEGIN", "COMMIT"))] == [
        "UPDATE AUDIT_CHAIN SET",
        "INSERT INTO AUDIT",
    ]


def test_queued_writers_share_a_transaction_and_a_bad_entry_costs_only_itself(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(services, 1)
    # The refusal is injected at signing; the writers queue while the test holds the lock.
    signer = services.audit.signer
    sign = signer.entry

    def refuse_poison(row: dict[str, object], seq: int, prev: str) -> str:
        if row["info"] == "poison":
            raise ValueError("refused")
        return sign(row, seq, prev)

    monkeypatch.setattr(signer, "entry", refuse_poison)
    writer = services.audit.writer
    results: dict[str, int] = {}
    with writer.anchor.held():
        threads = [
            threading.Thread(
                target=lambda label=label: results.__setitem__(
                    label, services.audit.write(record(label))
                )
            )
            for label in ("good-1", "poison", "good-2")
        ]
        for thread in threads:
            thread.start()
        while writer.waiting < 3:
            time.sleep(0.01)
    for thread in threads:
        thread.join()
    assert results["poison"] == 0
    assert sorted((results["good-1"], results["good-2"])) == [2, 3]
    assert verify(services).ok
