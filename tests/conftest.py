"""The shared test harness.

One pytest run tests one database, chosen by ``FACTORFLOW_TEST_DATABASE``
(``sqlite`` — the default —, ``postgresql`` or ``mariadb``); ``.ci/run`` runs the suite
once per database. Each run gets its own freshly migrated database; every test
starts from empty tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from starlette.testclient import TestClient

import factorflow.models  # noqa: F401
from factorflow.api.app import create_app
from factorflow.bootstrap import Services, build_services
from factorflow.db.base import Base, make_engine
from factorflow.db.schema import upgrade
from factorflow.settings import Settings
from tests import factories

BACKEND = os.environ.get("FACTORFLOW_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "FACTORFLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MARIADB_ADMIN_URL = os.environ.get(
    "FACTORFLOW_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/"
)

ADMIN_NAME = "admin"
ADMIN_PASSWORD = "admin-password-1"
USER_PASSWORDS = {"alice": "alice-pass-1", "bob": "bob-pass-1", "carol": "carol-pass-1"}


def server_url(admin_url: str, name: str) -> str:
    base = admin_url.rsplit("/", 1)[0]
    suffix = "?charset=utf8mb4" if admin_url.startswith("mysql") else ""
    return f"{base}/{name}{suffix}"


def create_database(admin_url: str, name: str) -> str:
    engine = make_engine(admin_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if admin_url.startswith("mysql"):
            conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
        else:
            conn.execute(text(f"CREATE DATABASE {name}"))
            # A test database need not survive a crash: commits do not wait for the
            # disk, which three suites side by side share. A wait for a lock ends
            # with an error after a minute: a deadlock through a lock the database
            # cannot see (the audit's node lock) fails its test instead of hanging
            # the run, and every later test behind its locks.
            conn.execute(text(f"ALTER DATABASE {name} SET synchronous_commit = off"))
            conn.execute(text(f"ALTER DATABASE {name} SET lock_timeout = '60s'"))
    engine.dispose()
    return server_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    engine = make_engine(admin_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if admin_url.startswith("postgresql"):
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        else:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"ff_test_{uuid.uuid4().hex[:10]}"
    if BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'factorflow.sqlite'}"
        admin_url = ""
    elif BACKEND == "postgresql":
        admin_url = PG_ADMIN_URL
        url = create_database(admin_url, name)
    elif BACKEND == "mariadb":
        admin_url = MARIADB_ADMIN_URL
        url = create_database(admin_url, name)
    else:
        raise pytest.UsageError(f"unknown FACTORFLOW_TEST_DATABASE {BACKEND!r}")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    if admin_url:
        drop_database(admin_url, name)


# Tables whose id counter moved since it was last reset (rows may be gone again, but
# the next test expects ids from 1): a sequence read at least once on PostgreSQL, an
# AUTO_INCREMENT past 1 on MariaDB (both read live, not from statistics).
_MOVED_COUNTERS = {
    "postgresql": (
        "SELECT t.relname FROM pg_class s"
        " JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass"
        " AND d.refclassid = 'pg_class'::regclass"
        " JOIN pg_class t ON t.oid = d.refobjid"
        " JOIN pg_sequences q ON q.schemaname = current_schema() AND q.sequencename = s.relname"
        " WHERE s.relkind = 'S' AND q.last_value IS NOT NULL"
    ),
    "mysql": (
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = DATABASE() AND auto_increment > 1"
    ),
}


def touched_tables(conn: Any, names: list[str]) -> set[str]:
    """The tables of ``names`` that hold rows or whose id counter moved: one round trip
    each, so a test that wrote three tables empties three, not all of them."""
    quote = conn.dialect.identifier_preparer.quote
    holding = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {quote(name)})" for name in names
    )
    found = {row[0] for row in conn.execute(text(holding))}
    moved = {row[0] for row in conn.execute(text(_MOVED_COUNTERS[conn.dialect.name]))}
    return found | (moved & set(names))


def empty_tables(engine: Engine) -> None:
    """Every table as a fresh database has it, ids from 1. On PostgreSQL and MariaDB
    only the tables the last test touched are truncated: truncating all of them took
    0.4 s per test, a third of the suite's time on those databases."""
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            touched = touched_tables(conn, [t.name for t in tables])
            if touched:
                names = ", ".join(f'"{name}"' for name in sorted(touched))
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        elif engine.dialect.name == "mysql":
            touched = touched_tables(conn, [t.name for t in tables])
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for table in tables:
                if table.name in touched:
                    conn.execute(text(f"TRUNCATE TABLE `{table.name}`"))
            conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
        else:
            for table in tables:
                conn.execute(table.delete())


def test_settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "argon2_parallelism": 1,
        "node_name": "testnode",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return test_settings(tmp_path / "data", database_url)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings, migrate=False)
    empty_tables(built.engine)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def statements(services: Services) -> Iterator[list[str]]:
    """The SQL statements the database receives while the test runs, whitespace
    collapsed (clear it to count from a point on). Without the version probes of the
    per-process caches (``config_setting``): they run at most once a second, whichever
    request comes then, so the clock, not the request, decides whether they are here."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statement = " ".join(statement.split())
        if not statement.startswith("SELECT config_setting.value FROM config_setting"):
            seen.append(statement)

    event.listen(services.engine, "before_cursor_execute", record)
    yield seen
    event.remove(services.engine, "before_cursor_execute", record)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on ``sys.path`` for plug-ins installed by :func:`tests.plugins.install`
    (services built after the install find them by their entry points)."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return path


def bearer(token: str) -> dict[str, str]:
    """privacyIDEA's clients send the raw JWT as the Authorization header value."""
    return {"Authorization": token}


@pytest.fixture
def admin_headers(services: Services, client: TestClient) -> dict[str, str]:
    with services.sessions.begin() as session:
        services.admins.add(session, ADMIN_NAME, ADMIN_PASSWORD)
    response = client.post("/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return bearer(response.json()["result"]["value"]["token"])


#: The users of :func:`passwd_file`: login → (uid, password, gecos).
PASSWD_USERS = {
    "alice": (1000, USER_PASSWORDS["alice"], "Alice Smith,,+4930111,+4917111,alice@example.com"),
    "bob": (1001, USER_PASSWORDS["bob"], "Bob Jones,,+4930222,+4917222,bob@example.com"),
    "carol": (1002, USER_PASSWORDS["carol"], "Carol White,,,,carol@example.com"),
}


@pytest.fixture
def passwd_file(tmp_path: Path) -> Path:
    return factories.write_passwd(tmp_path / "users.passwd", PASSWD_USERS)


@pytest.fixture
def flatfile_realm(client: TestClient, admin_headers: dict[str, str], passwd_file: Path) -> str:
    """A flat-file resolver ``resolver1`` in realm ``realm1`` (the default realm)."""
    return factories.flatfile_realm(client, admin_headers, passwd_file, "realm1", "resolver1")


def user_headers(client: TestClient, login: str, realm: str = "realm1") -> dict[str, str]:
    response = client.post(
        "/auth", data={"username": login, "realm": realm, "password": USER_PASSWORDS[login]}
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["result"]["value"]["token"])
