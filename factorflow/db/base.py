"""The declarative base, engine creation and the transaction helper.

One schema serves SQLite (WAL, the embedded default), PostgreSQL (psycopg 3) and
MariaDB (PyMySQL). Feature packages declare their tables in their own
``models.py`` against :class:`Base`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite and MariaDB drop tzinfo)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        # MariaDB/MySQL DATETIME drops microseconds unless asked for six digits; signed
        # audit entries and ordering by time need them.
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=False))

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(
    url: str, *, echo: bool = False, pool_size: int = 20, lock_timeout: float = 30.0
) -> Engine:
    """Create an engine with the per-backend settings Factorflow relies on.

    ``lock_timeout`` (seconds, 0: none) bounds each statement's wait for a lock on
    PostgreSQL: a lock cycle the database cannot see (one of its locks and one of the
    process's) then fails a request instead of stopping every request behind it."""
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    else:
        # Sized to the request threads plus the job worker, so that a burst waits for
        # a thread, not for a connection while holding locks.
        kwargs.update(
            pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
        )
    if url.startswith("mysql") or url.startswith("mariadb"):
        kwargs["isolation_level"] = "READ COMMITTED"
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    elif engine.dialect.name == "postgresql" and lock_timeout:
        statement = f"SET lock_timeout = {int(lock_timeout * 1000)}"

        def _postgresql_session(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(statement)
            cursor.close()
            dbapi_connection.commit()

        event.listen(engine, "connect", _postgresql_session)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's implicit transaction handling is turned off; the "begin" listener
    # issues BEGIN itself so that reads and writes of one unit of work share one
    # snapshot (see is_retryable_conflict for what happens when two writers race).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


#: Execution option naming the SQLite BEGIN mode of a unit of work (see ``transaction``).
SQLITE_BEGIN = "factorflow_sqlite_begin"


def began_immediate(session: Session) -> bool:
    """Whether ``session``'s transaction began ``IMMEDIATE`` (a SQLite writer of
    :func:`transaction`): it holds the database's write lock since its first statement."""
    options = session.connection().get_execution_options()
    return bool(options.get(SQLITE_BEGIN) == "IMMEDIATE")


def _sqlite_begin(connection: Any) -> None:
    # A unit of work that will write takes SQLite's write lock up front (IMMEDIATE):
    # concurrent writers then queue on busy_timeout instead of failing when a reader
    # tries to upgrade after another writer committed (SQLITE_BUSY_SNAPSHOT).
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


_CONFLICT_MARKERS = (
    "database is locked",
    "deadlock",
    "could not serialize",
    "lock wait timeout",
)


#: MariaDB/MySQL error codes of a lost write conflict: deadlock (also Galera's failed
#: certification at COMMIT) and lock wait timeout.
_CONFLICT_CODES = (1213, 1205)


def is_retryable_conflict(exc: BaseException) -> bool:
    """True for write conflicts that a rolled-back unit of work may simply retry.

    SQLite in WAL mode answers SQLITE_BUSY at once (no busy wait) when a transaction
    that has read tries to write after another writer committed; PostgreSQL and
    MariaDB report serialization failures and deadlocks the same way.

    The whole chain of causes counts: when InnoDB picks a transaction inside a
    savepoint as a deadlock victim it rolls back the *entire* transaction, so leaving
    the savepoint fails with "SAVEPOINT ... does not exist" (1305), raised while
    handling the deadlock. That error is as retryable as the deadlock behind it.

    A MariaDB Galera cluster certifies a transaction when it commits: the loser of two
    conflicting commits on different nodes gets error 1213 (ER_LOCK_DEADLOCK) at COMMIT,
    after all its statements succeeded. The unit of work's commit is inside the retried
    block (:func:`retrying`), so it is retried whole like any deadlock; the error code
    counts as well as the message, which WSREP words differently in some versions.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        text = str(getattr(current, "orig", current)).lower()
        if any(marker in text for marker in _CONFLICT_MARKERS):
            return True
        args = getattr(getattr(current, "orig", current), "args", ())
        if args and args[0] in _CONFLICT_CODES:
            return True
        pending += [current.__cause__, current.__context__, getattr(current, "orig", None)]
    return False


class SqliteWriteGate:
    """Admits SQLite write transactions one at a time: in arrival order within the
    process, and one process at a time through an advisory lock file.

    SQLite has one writer. Without the gate every writer thread of every process calls
    ``BEGIN IMMEDIATE`` and, when the lock is taken, sleeps in SQLite's busy handler
    in growing steps (1 ms up to 100 ms) and polls again. Nobody is woken when the lock
    is released, so it sits idle while the waiters sleep, and a thread that has waited
    long sleeps longest and loses to newcomers: the long tails of a loaded server. At the
    gate, threads queue and each is handed the turn directly when the previous writer
    has committed; processes wait for each other in ``flock`` and are woken by the
    kernel. Writers that do not come through the gate (other tools, deferred
    transactions that write) still meet the busy timeout as before.
    """

    def __init__(self, lock_path: Path | None) -> None:
        self.lock_path = lock_path
        self._mutex = threading.Lock()
        self._queue: deque[threading.Lock] = deque()
        self._busy = False
        self._owner = 0
        self._file: IO[bytes] | None = None
        self._file_pid = 0

    @property
    def busy(self) -> bool:
        """A write transaction holds the gate now."""
        return self._busy

    @property
    def waiting(self) -> int:
        """Write transactions of this process queued for their turn."""
        with self._mutex:
            return len(self._queue)

    @contextmanager
    def held(self) -> Iterator[None]:
        me = threading.get_ident()
        if self._owner == me:  # a nested write unit of work of the same thread
            yield
            return
        self._enter()
        self._owner = me
        try:
            handle = self._lock_file()
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if handle is not None:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            self._owner = 0
            self._leave()

    def _enter(self) -> None:
        with self._mutex:
            if not self._busy:
                self._busy = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._queue.append(turn)
        turn.acquire()  # released by the previous holder's _leave: the turn is ours

    def _leave(self) -> None:
        with self._mutex:
            if self._queue:
                self._queue.popleft().release()
            else:
                self._busy = False

    def _lock_file(self) -> IO[bytes] | None:
        # One open file per process: flock locks belong to the open file, which a
        # forked child would otherwise share with its parent.
        if self.lock_path is None:
            return None
        if self._file is None or self._file_pid != os.getpid():
            self._file = self.lock_path.open("ab")
            self._file_pid = os.getpid()
        return self._file


def sqlite_write_gate(engine: Engine) -> SqliteWriteGate | None:
    """The gate for a file-backed SQLite engine; None for other databases."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return SqliteWriteGate(None)
    return SqliteWriteGate(Path(f"{database}-writer.lock"))


#: Session ``info`` key of the factory's :class:`SqliteWriteGate`.
WRITE_GATE = "factorflow_sqlite_write_gate"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    info = {WRITE_GATE: gate} if (gate := sqlite_write_gate(engine)) is not None else {}
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True, info=info)


def serialises_writes(factory: sessionmaker[Session]) -> bool:
    """Whether write transactions of ``factory`` pass a :class:`SqliteWriteGate`, one at
    a time (SQLite); PostgreSQL and MariaDB lock rows instead."""
    return WRITE_GATE in factory.kw.get("info", {})


def writer_turn(factory: sessionmaker[Session]) -> AbstractContextManager[None]:
    """This thread's turn as the writer of ``factory``'s database, where its write
    transactions take turns (SQLite; re-entered by a write :func:`transaction` of the
    same thread); nothing elsewhere. Taken first by code that holds another lock
    across a write transaction, so that every thread takes the two in one order."""
    gate: SqliteWriteGate | None = factory.kw.get("info", {}).get(WRITE_GATE)
    return gate.held() if gate is not None else nullcontext()


#: Session ``info`` keys of the callbacks :func:`transaction` runs when it ends.
_AFTER_COMMIT = "factorflow.after_commit"
_WHEN_ENDED = "factorflow.when_ended"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the :func:`transaction` of ``session`` has committed (not
    if it rolls back); a callback that raises is logged, the commit stands."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def when_ended(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` when the :func:`transaction` of ``session`` ends, committed or
    not (after the :func:`after_commit` callbacks): to release what the unit of work
    took for its commit."""
    session.info.setdefault(_WHEN_ENDED, []).append(callback)


def _run_callbacks(session: Session, key: str) -> None:
    for callback in session.info.pop(key, ()):
        try:
            callback()
        except Exception:
            log.exception("a callback at the end of a transaction failed")


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool = False) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any exception.

    ``write`` says the unit of work will write: on SQLite it then passes the factory's
    :class:`SqliteWriteGate` and begins IMMEDIATE. Callbacks registered with
    :func:`after_commit` and :func:`when_ended` run before the gate is released.
    """
    gate: SqliteWriteGate | None = factory.kw.get("info", {}).get(WRITE_GATE) if write else None
    with gate.held() if gate is not None else nullcontext():
        session = factory()
        try:
            if write:
                session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            _run_callbacks(session, _AFTER_COMMIT)
        finally:
            try:
                session.close()
            finally:
                _run_callbacks(session, _WHEN_ENDED)


def retrying(
    factory: sessionmaker[Session],
    work: Callable[[Session], T],
    *,
    write: bool = True,
    attempts: int = 8,
    backoff: float = 0.005,
) -> T:
    """Run ``work`` in one :func:`transaction`, retrying it whole (up to ``attempts``
    times, sleeping ``backoff * attempt`` seconds in between) when the database reports a
    retryable write conflict (:func:`is_retryable_conflict`)."""
    for attempt in range(attempts):
        try:
            with transaction(factory, write=write) as session:
                return work(session)
        except OperationalError as exc:
            if not is_retryable_conflict(exc) or attempt == attempts - 1:
                raise
            time.sleep(backoff * (attempt + 1))
    raise AssertionError("unreachable")
