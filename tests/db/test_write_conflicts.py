"""A unit of work that loses a write conflict is retried whole, even when the conflict
surfaces inside a savepoint (MariaDB rolls back the whole transaction on a deadlock, so
leaving the savepoint fails with "SAVEPOINT ... does not exist")."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from factorflow.db.base import (
    is_retryable_conflict,
    make_engine,
    make_session_factory,
    retrying,
)

ROWS = 40


def chained(first: str, then: str) -> OperationalError:
    """The error ``then`` raised while handling ``first``, as SQLAlchemy chains them."""
    try:
        try:
            raise OperationalError("SQL", {}, Exception(first))
        except OperationalError:
            raise OperationalError("ROLLBACK TO SAVEPOINT", {}, Exception(then)) from None
    except OperationalError as exc:
        exc.__cause__ = None
        return exc


def test_a_lost_savepoint_behind_a_deadlock_is_retryable() -> None:
    lost = chained(
        "(1213, 'Deadlock found when trying to get lock; try restarting transaction')",
        "(1305, 'SAVEPOINT sa_savepoint_1 does not exist')",
    )
    assert is_retryable_conflict(lost)


def test_a_galera_certification_failure_at_commit_is_retryable() -> None:
    """Galera's loser of two conflicting commits: 1213 at COMMIT, by code or message."""
    import pymysql

    worded = pymysql.err.OperationalError(1213, "WSREP detected deadlock/conflict")
    assert is_retryable_conflict(OperationalError("COMMIT", {}, worded))
    coded = pymysql.err.OperationalError(1213, "certification failed")
    assert is_retryable_conflict(OperationalError("COMMIT", {}, coded))
    other = pymysql.err.OperationalError(1047, "WSREP has not yet prepared node")
    assert not is_retryable_conflict(OperationalError("COMMIT", {}, other))


def test_a_lost_savepoint_without_a_conflict_is_not_retryable() -> None:
    lost = chained(
        "(1054, \"Unknown column 'x'\")", "(1305, 'SAVEPOINT sa_savepoint_1 does not exist')"
    )
    assert not is_retryable_conflict(lost)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer: two transactions cannot deadlock")
    engine = make_engine(database_url, pool_size=4)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS conflict_probe"))
        connection.execute(text("CREATE TABLE conflict_probe (id INTEGER PRIMARY KEY, n INTEGER)"))
        for row in range(1, ROWS + 1):
            connection.execute(text("INSERT INTO conflict_probe VALUES (:id, 0)"), {"id": row})
    yield engine
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE conflict_probe"))
    engine.dispose()


def bump(session: Session, *rows: int) -> None:
    for row in rows:
        session.execute(text("UPDATE conflict_probe SET n = n + 1 WHERE id = :id"), {"id": row})


def test_a_deadlock_inside_a_savepoint_retries_the_whole_unit(engine: Engine) -> None:
    """Two units lock rows in opposite orders. The light one (row 1, then row 2 inside a
    savepoint) is the deadlock victim on MariaDB, which weighs victims by rows changed;
    on PostgreSQL whoever waits first detects the deadlock. Either way both units must
    end up committed exactly once."""
    factory = make_session_factory(engine)
    light_holds_row_1 = threading.Event()
    heavy_holds_the_rest = threading.Event()
    attempts = {"light": 0, "heavy": 0}

    def light(session: Session) -> None:
        attempts["light"] += 1
        bump(session, 1)
        if attempts["light"] == 1:
            light_holds_row_1.set()
            assert heavy_holds_the_rest.wait(10)
        with session.begin_nested():
            bump(session, 2)

    def heavy(session: Session) -> None:
        attempts["heavy"] += 1
        if attempts["heavy"] == 1:
            assert light_holds_row_1.wait(10)
        bump(session, *range(2, ROWS + 1))
        heavy_holds_the_rest.set()
        bump(session, 1)

    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(retrying, factory, work) for work in (light, heavy)]
        for run in runs:
            run.result(timeout=60)

    with engine.connect() as connection:
        counts = dict(connection.execute(text("SELECT id, n FROM conflict_probe")).all())
    assert counts[1] == 2 and counts[2] == 2
    assert all(counts[row] == 1 for row in range(3, ROWS + 1))
    assert attempts["light"] + attempts["heavy"] == 3
    if engine.dialect.name == "mysql":
        assert attempts["light"] == 2
