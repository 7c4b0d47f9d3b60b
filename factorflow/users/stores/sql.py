"""SQL user store (privacyIDEA's ``sqlresolver``): users in a table of any database
SQLAlchemy reaches.

The connection is either ``URL`` (any SQLAlchemy URL without a password) or
privacyIDEA's fields ``Driver``, ``Server``, ``Port``, ``Database``, ``User``,
``conParams``; ``Password`` is a secret in both cases. ``Map`` (JSON) maps
privacyIDEA's attribute names to columns and needs ``userid`` and ``username``;
``Where`` restricts the rows (``column == value`` conditions joined with ``and``);
``Editable`` allows adding, changing and deleting users.

Stored passwords verify in the formats of :mod:`factorflow.users.stores.passwords`;
new passwords are stored as argon2id. Every statement is built with SQLAlchemy
expressions against the reflected table and bound parameters: no SQL is pasted
together from strings. Each store owns its engine; :meth:`close` disposes it.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    MetaData,
    String,
    Table,
    and_,
    cast,
    create_engine,
    delete,
    false,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from factorflow.crypto import Hasher
from factorflow.errors import ParameterError
from factorflow.users.base import StoreOptions, StoreTestResult, UserRecord, UserStore
from factorflow.users.errors import StoreNotEditableError, StoreUnavailableError, UserExistsError
from factorflow.users.stores.passwords import Decoys, verify_password
from factorflow.users.stores.sql_options import SqlOptions, parse_where

__all__ = ["SqlOptions", "SqlUserStore", "parse_where"]


def _escape_like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def _coerce(column: Column[Any], value: str) -> object | None:
    """``value`` as the column's Python type, or None when it cannot be one."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    if python_type is int:
        try:
            return int(value)
        except ValueError:
            return None
    return value


class SqlUserStore(UserStore):
    type_name = "sqlresolver"
    Options = SqlOptions
    description = "A table in an SQL database (PostgreSQL, MariaDB, SQLite, ...)"

    def __init__(self, name: str, options: StoreOptions, *, hasher: Hasher | None = None) -> None:
        super().__init__(name, options, hasher=hasher)
        assert isinstance(options, SqlOptions)
        self.opts: SqlOptions = options
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._table: Table | None = None
        self._decoys = Decoys()

    @property
    def editable(self) -> bool:
        return self.opts.editable

    # -- plumbing ---------------------------------------------------------------

    def _fail(self, exc: Exception) -> StoreUnavailableError:
        # The driver's message may quote the URL; name only the kind of failure.
        if isinstance(exc, NoSuchTableError):
            return StoreUnavailableError(
                f"User store {self.name!r}: table {self.opts.table!r} not found"
            )
        return StoreUnavailableError(
            f"User store {self.name!r}: database error ({type(exc).__name__})"
        )

    def _make_engine(self) -> Engine:
        url = self.opts.connection_url()
        kwargs: dict[str, Any] = {"pool_pre_ping": True, "pool_recycle": self.opts.pool_recycle}
        if url.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False}
        else:
            kwargs.update(pool_size=self.opts.pool_size, pool_timeout=self.opts.pool_timeout)
        return create_engine(url, **kwargs)

    def _reflect(self) -> tuple[Engine, Table]:
        engine, table = self._engine, self._table
        if engine is not None and table is not None:
            return engine, table
        with self._lock:
            if self._engine is not None and self._table is not None:
                return self._engine, self._table
            schema, _, name = self.opts.table.rpartition(".")
            engine = self._engine or self._make_engine()
            self._engine = engine
            try:
                table = Table(name, MetaData(), schema=schema or None, autoload_with=engine)
            except (SQLAlchemyError, OSError) as exc:
                raise self._fail(exc) from None
            missing = [
                c
                for c in [*self.opts.map.values(), *(w[0] for w in self._where())]
                if c not in table.c
            ]
            if missing:
                where = f"table {self.opts.table!r} has no column {missing[0]!r}"
                raise StoreUnavailableError(f"User store {self.name!r}: {where}")
            self._table = table
            return engine, table

    def _where(self) -> list[tuple[str, str, str]]:
        return parse_where(self.opts.where)

    def _column(self, table: Table, attribute: str) -> Column[Any]:
        return table.c[self.opts.map[attribute]]

    def _compare(
        self, column: Column[Any], op: str, value: str, *, wildcard: bool = False
    ) -> ColumnElement[bool]:
        if op == "like" or (wildcard and "*" in value):
            text_column = column if isinstance(column.type, String) else cast(column, String)
            return func.lower(text_column).like(func.lower(_escape_like(value)), escape="\\")
        typed = _coerce(column, value)
        if typed is None:
            return false() if op == "==" else true()
        comparisons: dict[str, ColumnElement[bool]] = {
            "==": column == typed,
            "!=": column != typed,
            "<>": column != typed,
            ">": column > typed,
            "<": column < typed,
            ">=": column >= typed,
            "<=": column <= typed,
        }
        return comparisons[op]

    def _scope(self, table: Table) -> list[ColumnElement[bool]]:
        return [self._compare(table.c[col], op, val) for col, op, val in self._where()]

    def _by_uid(self, table: Table, uid: str) -> list[ColumnElement[bool]]:
        return [self._compare(self._column(table, "userid"), "==", uid), *self._scope(table)]

    def _record(self, row: Any) -> UserRecord:
        attributes: dict[str, str] = {}
        for attribute, column in self.opts.map.items():
            if attribute == "password":
                continue
            value = row._mapping[column]
            attributes[attribute] = "" if value is None else str(value)
        return UserRecord(
            uid=attributes["userid"], login=attributes["username"], attributes=attributes
        )

    def _select(self, conditions: list[ColumnElement[bool]], limit: int) -> list[UserRecord]:
        engine, table = self._reflect()
        columns = [table.c[c] for a, c in self.opts.map.items() if a != "password"]
        query = select(*columns).where(and_(true(), *conditions)).limit(limit)
        try:
            with engine.connect() as conn:
                return [self._record(row) for row in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise self._fail(exc) from None

    # -- the UserStore contract -------------------------------------------------
    # No login, id or attribute of a user holds a NUL, and PostgreSQL refuses one in
    # a query parameter (a DataError, which would read as "store unavailable"): a
    # value with a NUL matches nobody, on every database.

    def user_id(self, login: str) -> str | None:
        record = self.find(login)
        return record.uid if record else None

    def find(self, login: str) -> UserRecord | None:
        if "\x00" in login:
            return None
        _, table = self._reflect()
        condition = self._compare(self._column(table, "username"), "==", login)
        # Collations may compare case- or trailing-blank-insensitively (MariaDB's
        # defaults do); a login must match exactly on every database.
        found = self._select([condition, *self._scope(table)], 5)
        return next((r for r in found if r.login == login), None)

    def get(self, uid: str) -> UserRecord | None:
        if "\x00" in uid:
            return None
        _, table = self._reflect()
        found = self._select(self._by_uid(table, uid), 5)
        return next((r for r in found if r.uid == uid), None)

    def search(self, filters: dict[str, str], limit: int) -> list[UserRecord]:
        _, table = self._reflect()
        conditions = self._scope(table)
        for attribute, pattern in filters.items():
            if pattern == "*":
                continue
            if attribute not in self.opts.map or attribute == "password" or "\x00" in pattern:
                return []
            column = self._column(table, attribute)
            conditions.append(self._compare(column, "==", pattern, wildcard=True))
        return self._select(conditions, min(limit, self.opts.limit))

    def check_password(self, uid: str, password: str) -> bool:
        if "password" not in self.opts.map or "\x00" in uid:
            return False
        engine, table = self._reflect()
        query = select(self._column(table, "password")).where(*self._by_uid(table, uid)).limit(1)
        try:
            with engine.connect() as conn:
                stored = conn.execute(query).scalar()
        except SQLAlchemyError as exc:
            raise self._fail(exc) from None
        return isinstance(stored, str) and verify_password(stored, password)

    def check_unknown_password(self, password: str) -> None:
        # One query and one verification, like check_password: a decoy costing what
        # a stored hash costs (a table may hold several kinds; any one will do).
        if "password" not in self.opts.map or not password:
            return
        engine, table = self._reflect()
        column = self._column(table, "password")
        query = select(column).where(and_(true(), *self._scope(table))).limit(1)
        try:
            with engine.connect() as conn:
                sample = conn.execute(query).scalar()
        except SQLAlchemyError as exc:
            raise self._fail(exc) from None
        if isinstance(sample, str):
            self._decoys.verify_like(sample, password)

    def test(self) -> StoreTestResult:
        try:
            engine, table = self._reflect()
            query = select(func.count()).select_from(table).where(and_(true(), *self._scope(table)))
            with engine.connect() as conn:
                count = conn.execute(query).scalar_one()
        except StoreUnavailableError as exc:
            return StoreTestResult(False, exc.message)
        except SQLAlchemyError as exc:
            return StoreTestResult(False, self._fail(exc).message)
        return StoreTestResult(
            True, f"Resolver is configured correctly: {count} users found.", int(count)
        )

    # -- editing ------------------------------------------------------------------

    def _values(self, attributes: dict[str, str], password: str | None) -> dict[str, object]:
        values: dict[str, object] = {}
        for attribute, value in attributes.items():
            if attribute in self.opts.map and attribute != "password":
                values[self.opts.map[attribute]] = value
        if password is not None:
            if "password" not in self.opts.map:
                raise ParameterError(f"User store {self.name!r} has no password column in its Map")
            values[self.opts.map["password"]] = self.hasher.hash(password)
        return values

    def _write(self, statement: Any) -> int:
        engine, _ = self._reflect()
        try:
            with engine.begin() as conn:
                return int(conn.execute(statement).rowcount or 0)
        except SQLAlchemyError as exc:
            raise self._fail(exc) from None

    def add(self, attributes: dict[str, str], password: str | None) -> str:
        if not self.editable:
            raise StoreNotEditableError(f"User store {self.name!r} is not editable")
        login = attributes.get("username", "")
        if self.user_id(login) is not None:
            raise UserExistsError(f"The user {login!r} already exists in resolver {self.name!r}")
        _, table = self._reflect()
        self._write(insert(table).values(self._values(attributes, password)))
        uid = self.user_id(login)
        if uid is None:
            raise StoreUnavailableError(
                f"User store {self.name!r}: the new user is not visible (check Where)"
            )
        return uid

    def update(self, uid: str, attributes: dict[str, str], password: str | None) -> None:
        if not self.editable:
            raise StoreNotEditableError(f"User store {self.name!r} is not editable")
        values = self._values({k: v for k, v in attributes.items() if k != "userid"}, password)
        if values:
            _, table = self._reflect()
            self._write(update(table).where(*self._by_uid(table, uid)).values(values))

    def delete(self, uid: str) -> None:
        if not self.editable:
            raise StoreNotEditableError(f"User store {self.name!r} is not editable")
        _, table = self._reflect()
        self._write(delete(table).where(*self._by_uid(table, uid)))

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine, self._table = None, None
