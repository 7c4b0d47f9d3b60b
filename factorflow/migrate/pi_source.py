"""privacyIDEA's database, read-only.

Tables are reflected and read whole with plain SELECTs; column names are lower-cased
(privacyIDEA names some ``Key``/``Value``/``Type``); tables and columns are asked for
and answered under privacyIDEA's names, also where the source (eduMFA) renamed them.
The connection cannot write: SQLite is opened with ``mode=ro``, PostgreSQL and MariaDB
sessions are set read-only.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, MetaData, Table, create_engine, event, inspect, select
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


class PiSource:
    """The tables of one privacyIDEA (or eduMFA) database."""

    def __init__(self, uri: str, names: SourceNames = PRIVACYIDEA) -> None:
        self.names = names
        product = names.product
        try:
            self._engine = _engine(uri, product)
            with self._engine.connect() as conn:
                self._tables = set(inspect(conn).get_table_names())
        except (SQLAlchemyError, NoSuchModuleError, sqlite3.Error) as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
            raise MigrationSourceError(f"Cannot read the {product} database: {reason}") from None
        if "token" not in self._tables or "admin" not in self._tables:
            raise MigrationSourceError(
                f"The database named by SQLALCHEMY_DATABASE_URI has no {product} tables"
            )
        self._metadata = MetaData()

    def has(self, table: str) -> bool:
        return self.names.tables.get(table, table) in self._tables

    def rows(self, table: str) -> list[Row]:
        """Every row of ``table`` ([] if the installation has no such table), by id."""
        if not self.has(table):
            return []
        table = self.names.tables.get(table, table)
        columns = self.names.columns
        try:
            with self._engine.connect() as conn:
                reflected = Table(table, self._metadata, autoload_with=conn)
                stmt = select(reflected)
                if "id" in reflected.c:
                    stmt = stmt.order_by(reflected.c.id)
                return [
                    {columns.get(key.lower(), key.lower()): value for key, value in row.items()}
                    for row in conn.execute(stmt).mappings()
                ]
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
            raise MigrationSourceError(f"Cannot read table {table}: {reason}") from None

    def close(self) -> None:
        self._engine.dispose()
