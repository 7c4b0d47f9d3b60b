"""SQLite write transactions pass a gate: one at a time, in arrival order, per process
and across processes (an advisory lock file next to the database)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from factorflow.db.base import (
    WRITE_GATE,
    SqliteWriteGate,
    make_engine,
    make_session_factory,
    transaction,
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.sqlite'}", pool_size=4)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        connection.execute(text("INSERT INTO counter VALUES (1, 0)"))
    yield engine
    engine.dispose()


def gate_of(factory: sessionmaker[Session]) -> SqliteWriteGate:
    gate = factory.kw["info"][WRITE_GATE]
    assert isinstance(gate, SqliteWriteGate)
    return gate


def wait_for_queue(gate: SqliteWriteGate, length: int) -> None:
    while gate.waiting < length:
        time.sleep(0.001)


def test_a_file_database_gets_a_gate_with_a_lock_file(engine: Engine, tmp_path: Path) -> None:
    gate = gate_of(make_session_factory(engine))
    assert gate.lock_path == tmp_path / "gate.sqlite-writer.lock"


def test_other_databases_get_no_gate() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert WRITE_GATE not in make_session_factory(engine).kw.get("info", {})


def test_concurrent_writers_are_serialised_and_none_is_lost(engine: Engine) -> None:
    factory = make_session_factory(engine)
    lock = threading.Lock()
    inside = most = 0

    def increment(_: int) -> None:
        nonlocal inside, most
        with transaction(factory, write=True) as session:
            with lock:
                inside += 1
                most = max(most, inside)
            value = session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
            session.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": value + 1})
            with lock:
                inside -= 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(increment, range(40)))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 40
    assert most == 1


def test_writers_get_their_turn_in_arrival_order(engine: Engine) -> None:
    factory = make_session_factory(engine)
    gate = gate_of(factory)
    order: list[int] = []
    threads = []
    with gate.held():
        for i in range(5):

            def write(i: int = i) -> None:
                with transaction(factory, write=True):
                    order.append(i)

            thread = threading.Thread(target=write)
            thread.start()
            threads.append(thread)
            wait_for_queue(gate, i + 1)  # thread i is queued before thread i + 1 starts
    for thread in threads:
        thread.join()
    assert order == [0, 1, 2, 3, 4]


def test_readers_do_not_wait_for_the_gate(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with gate_of(factory).held(), transaction(factory) as session:
        assert session.execute(text("SELECT n FROM counter")).scalar_one() == 0


def test_the_same_thread_may_nest(engine: Engine) -> None:
    gate = gate_of(make_session_factory(engine))
    with gate.held(), gate.held():
        pass
    with gate.held():  # still free afterwards
        pass


def test_two_gates_on_one_file_exclude_each_other(tmp_path: Path) -> None:
    """Two gates with their own open lock file stand for two processes."""
    path = tmp_path / "db-writer.lock"
    first, second = SqliteWriteGate(path), SqliteWriteGate(path)
    events: list[str] = []
    entered = threading.Event()

    def other_process() -> None:
        entered.set()
        with second.held():
            events.append("second in")

    with first.held():
        events.append("first in")
        thread = threading.Thread(target=other_process)
        thread.start()
        entered.wait()
        time.sleep(0.05)  # gives the other side the chance to try; no assertion on time
        events.append("first out")
    thread.join()
    assert events == ["first in", "first out", "second in"]
