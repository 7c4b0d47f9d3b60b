"""Fixtures for the user-store tests: real user tables in SQLite, PostgreSQL and
MariaDB databases of their own (a user's SQL database is not Factorflow's)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from passlib.hash import sha512_crypt
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import MARIADB_ADMIN_URL, PG_ADMIN_URL, USER_PASSWORDS

if TYPE_CHECKING:
    from tests.users.ldap.slapd import Slapd

#: The users every store under test holds: login → (uid, given, surname, phone, mobile, email).
PEOPLE = {
    "alice": ("1000", "Alice", "Smith", "+4930111", "+4917111", "alice@example.com"),
    "bob": ("1001", "Bob", "Jones", "+4930222", "+4917222", "bob@example.com"),
    "carol": ("1002", "Carol", "White", "", "", "carol@example.com"),
}
SQL_MAP = {
    "userid": "id",
    "username": "login",
    "givenname": "given",
    "surname": "sur",
    "phone": "phone",
    "mobile": "mobile",
    "email": "mail",
    "password": "pw",
    "description": "descr",
}


def users_table(metadata: MetaData, schema: str | None = None) -> Table:
    return Table(
        "people",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("login", String(100), nullable=False, unique=True),
        Column("given", String(100)),
        Column("sur", String(100)),
        Column("phone", String(50)),
        Column("mobile", String(50)),
        Column("mail", String(200)),
        Column("pw", String(255)),
        Column("descr", String(255)),
        Column("active", Integer, server_default=text("1")),
        schema=schema,
    )


def fill_table(url: str, schema: str | None = None) -> None:
    """(Re)create the people table with the three users and one inactive user."""
    engine = create_engine(url)
    metadata = MetaData()
    table = users_table(metadata, schema)
    with engine.begin() as conn:
        if schema and engine.dialect.name == "postgresql":
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    metadata.drop_all(engine)
    metadata.create_all(engine)
    rows = [
        {
            "id": int(uid),
            "login": login,
            "given": given,
            "sur": sur,
            "phone": phone,
            "mobile": mobile,
            "mail": mail,
            "pw": sha512_crypt.hash(USER_PASSWORDS[login], rounds=5000),
            "descr": f"{given} {sur}",
            "active": 1,
        }
        for login, (uid, given, sur, phone, mobile, mail) in PEOPLE.items()
    ]
    rows.append({**rows[0], "id": 1099, "login": "ghost", "mail": "ghost@example.com", "active": 0})
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    engine.dispose()


def _external_database(admin_url: str) -> Iterator[str]:
    name = f"ff_userstore_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(admin_url)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # any failure means the server is not here
        pytest.skip(f"database server not reachable: {type(exc).__name__}")
    base = make_url(admin_url)
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if admin.dialect.name == "postgresql":
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        else:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_userdb() -> Iterator[str]:
    yield from _external_database(PG_ADMIN_URL)


@pytest.fixture(scope="session")
def mariadb_userdb() -> Iterator[str]:
    yield from _external_database(MARIADB_ADMIN_URL)


@dataclass
class SqlUserDb:
    url: str
    table: str

    def options(self, **extra: object) -> dict[str, object]:
        return {"URL": self.url, "Table": self.table, "Map": dict(SQL_MAP), **extra}


@pytest.fixture
def sqlite_userdb(tmp_path: Path) -> SqlUserDb:
    url = f"sqlite:///{tmp_path / 'people.sqlite'}"
    fill_table(url)
    return SqlUserDb(url, "people")


@pytest.fixture
def pg_people(pg_userdb: str) -> SqlUserDb:
    fill_table(pg_userdb, schema="staff")
    return SqlUserDb(pg_userdb, "staff.people")


@pytest.fixture
def mariadb_people(mariadb_userdb: str) -> SqlUserDb:
    fill_table(mariadb_userdb)
    return SqlUserDb(mariadb_userdb, "people")


UserDbFactory = Callable[[], SqlUserDb]


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """One throw-away OpenLDAP slapd per session (:mod:`tests.users.ldap.slapd`). It
    skips, with the reason, only when OpenLDAP is not installed; a slapd that is
    installed but fails to start is an error."""
    from tests.users.ldap.slapd import slapd_missing, start_slapd  # it imports PEOPLE

    reason = slapd_missing()
    if reason:
        pytest.skip(reason)
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dead_port() -> int:
    """A loopback port nobody listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
