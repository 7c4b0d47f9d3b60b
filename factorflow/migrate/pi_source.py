"""privacyIDEA's database, read-only.

Tables are reflected and read whole with plain SELECTs; column names are lower-cased
(privacyIDEA names some ``Key``/``Value``/``Type``); tables and columns are asked for
and answered under privacyIDEA's names, also where the source (eduMFA) renamed them.
The connection cannot write: SQLite is opened with ``mode=ro``, PostgreSQL and MariaDB
sessions are set read-only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    case,
    create_engine,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from factorflow.migrate.errors import MigrationSourceError
from factorflow.migrate.names import PRIVACYIDEA, SourceNames

Row = dict[str, Any]


def _engine(uri: str, product: str) -> Engine:
    try:
        url = make_url(uri)
    except ArgumentError:
        raise MigrationSourceError("SQLALCHEMY_DATABASE_URI is not a database URL") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = url.database or ""
        if not path or path == ":memory:":
            raise MigrationSourceError(f"The {product} database is an in-memory SQLite database")
        return create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True),
        )
    # Factorflow's own drivers (privacyIDEA's URLs often name psycopg2 or mysqldb).
    drivers = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}
    if backend not in drivers:
        raise MigrationSourceError(f"Unsupported {product} database: {backend}")
    engine = create_engine(url.set(drivername=f"{backend}+{drivers[backend]}"))
    statement = (
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
        if backend == "postgresql"
        else "SET SESSION TRANSACTION READ ONLY"
    )

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()

    return engine


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]


class PiSource:
    """The tables of one privacyIDEA (or eduMFA) database: ``tables`` are those it must
    have, and ``setting`` the config setting that names it."""

    def __init__(
        self,
        uri: str,
        names: SourceNames = PRIVACYIDEA,
        tables: tuple[str, ...] = ("token", "admin"),
        setting: str = "SQLALCHEMY_DATABASE_URI",
    ) -> None:
        self.names = names
        product = names.product
        try:
            self._engine = _engine(uri, product)
            with self._engine.connect() as conn:
                self._tables = set(inspect(conn).get_table_names())
        except (SQLAlchemyError, NoSuchModuleError, sqlite3.Error) as exc:
            raise MigrationSourceError(
                f"Cannot read the {product} database: {_reason(exc)}"
            ) from None
        missing = [name for name in tables if not self.has(name)]
        if missing:
            self._engine.dispose()
            raise MigrationSourceError(
                f"The database named by {setting} has no {product} tables ({', '.join(missing)})"
            )
        self._metadata = MetaData()

    def has(self, table: str) -> bool:
        return self.names.tables.get(table, table) in self._tables

    @contextmanager
    def _reading(self, table: str) -> Iterator[tuple[Connection, Table]]:
        """A connection and ``table`` (privacyIDEA's name) reflected; a database error
        is a :class:`MigrationSourceError` naming the table."""
        table = self.names.tables.get(table, table)
        try:
            with self._engine.connect() as conn:
                yield conn, Table(table, self._metadata, autoload_with=conn)
        except SQLAlchemyError as exc:
            raise MigrationSourceError(f"Cannot read table {table}: {_reason(exc)}") from None

    def _row(self, row: Any) -> Row:
        """``row`` under privacyIDEA's lower-case column names."""
        columns = self.names.columns
        return {columns.get(key.lower(), key.lower()): value for key, value in row.items()}

    def rows(self, table: str) -> list[Row]:
        """Every row of ``table`` ([] if the installation has no such table), by id."""
        if not self.has(table):
            return []
        with self._reading(table) as (conn, reflected):
            stmt = select(reflected)
            if "id" in reflected.c:
                stmt = stmt.order_by(reflected.c.id)
            return [self._row(row) for row in conn.execute(stmt).mappings()]

    def count_after(self, table: str, after: int) -> tuple[int, int]:
        """How many rows of ``table`` have an id up to ``after``, and how many above."""
        with self._reading(table) as (conn, reflected):
            up_to = func.coalesce(func.sum(case((reflected.c.id <= after, 1), else_=0)), 0)
            total = conn.execute(select(up_to, func.count())).one()
        return int(total[0]), int(total[1]) - int(total[0])

    def batches(self, table: str, after: int, size: int) -> Iterator[list[Row]]:
        """The rows of ``table`` with an id above ``after``, by id, ``size`` at a time:
        one short query per batch (keyset, no OFFSET, no cursor held open), so a table
        of millions of rows is never in memory at once."""
        while True:
            with self._reading(table) as (conn, reflected):
                stmt = select(reflected).where(reflected.c.id > after).order_by(reflected.c.id)
                batch = [self._row(row) for row in conn.execute(stmt.limit(size)).mappings()]
            if not batch:
                return
            yield batch
            after = int(batch[-1]["id"])

    def close(self) -> None:
        self._engine.dispose()
