"""privacyIDEA installations to migrate from, one per source database (SQLite and
PostgreSQL), and an eduMFA 2.x one on SQLite, each set up, provisioned and stopped once
per session.

The checks run against Factorflow on SQLite only: they test reading privacyIDEA's
databases, and Factorflow's own storage is tested on every database elsewhere, so the
other suite runs skip this directory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import OperationalError

from bench.products import EDUMFA, PRIVACYIDEA, Flavour, ensure_privacyidea
from tests.conftest import BACKEND, PG_ADMIN_URL, create_database, drop_database
from tests.migrate.pi_server import ProvisionedPi, install, provision, provision_edumfa_names

collect_ignore_glob = [] if BACKEND == "sqlite" else ["test_*.py"]


def venv_ready(flavour: Flavour, label: str) -> None:
    try:
        ensure_privacyidea(flavour=flavour)
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"{label} cannot be installed from PyPI: {str(exc)[-300:]}")


@pytest.fixture(scope="session")
def pi_venv_ready() -> None:
    venv_ready(PRIVACYIDEA, "privacyIDEA 3.14")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def privacyidea(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pi_venv_ready: None
) -> Iterator[ProvisionedPi]:
    """A provisioned, stopped privacyIDEA 3.14 on the source database ``param``."""
    base = tmp_path_factory.mktemp(f"pi-{request.param}")
    name = ""
    url = ""
    if request.param == "postgresql":
        name = f"pi_test_{uuid.uuid4().hex[:10]}"
        try:
            url = create_database(PG_ADMIN_URL, name)
        except OperationalError as exc:
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is needed: {exc}")
        url = url.replace("postgresql+psycopg://", "postgresql+psycopg2://", 1)
    server = install(base / "pi", url)
    server.start(1)
    try:
        pi = provision(server, base / "users.passwd")
    finally:
        server.stop()
    yield pi
    if name:
        drop_database(PG_ADMIN_URL, name)


@pytest.fixture(scope="session")
def edumfa(tmp_path_factory: pytest.TempPathFactory) -> ProvisionedPi:
    """A provisioned, stopped eduMFA 2.x on SQLite: what the privacyIDEA installations
    hold, and what eduMFA names after itself."""
    venv_ready(EDUMFA, f"eduMFA {EDUMFA.version}")
    base = tmp_path_factory.mktemp("edumfa")
    server = install(base / "edumfa", "", EDUMFA)
    server.start(1)
    try:
        pi = provision(server, base / "users.passwd")
        provision_edumfa_names(server)
    finally:
        server.stop()
    return pi
