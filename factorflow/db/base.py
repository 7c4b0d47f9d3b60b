"""The declarative base, engine creation and the transaction helper.

One schema serves SQLite (WAL, the embedded default), PostgreSQL (psycopg 3) and
MariaDB (PyMySQL). Feature packages declare their tables in their own
``models.py`` against :class:`Base`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

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


def make_engine(url: str, *, echo: bool = False, pool_size: int = 20) -> Engine:
    """Create an engine with the per-backend settings Factorflow relies on."""
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


def _sqlite_begin(connection: Any) -> None:
    # A unit of work that will write takes SQLite's write lock up front (IMMEDIATE):
    # concurrent writers then queue on busy_timeout instead of failing when a reader
    # tries to upgrade after another writer committed (SQLITE_BUSY_SNAPSHOT).
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


def is_retryable_conflict(exc: BaseException) -> bool:
    """True for write conflicts that a rolled-back unit of work may simply retry.

    SQLite in WAL mode answers SQLITE_BUSY at once (no busy wait) when a transaction
    that has read tries to write after another writer committed; PostgreSQL and
    MariaDB report serialization failures and deadlocks the same way.
    """
    text = str(getattr(exc, "orig", exc)).lower()
    return any(
        marker in text
        for marker in ("database is locked", "deadlock", "could not serialize", "lock wait timeout")
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool = False) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any exception.

    ``write`` says the unit of work will write: on SQLite it then begins IMMEDIATE.
    """
    session = factory()
    if write:
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
