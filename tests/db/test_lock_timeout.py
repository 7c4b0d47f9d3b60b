"""On PostgreSQL, which waits for a lock for ever by default, a statement of Factorflow
waits at most ``database_lock_timeout_seconds`` and then fails: a lock cycle through a
lock the database cannot see fails one request instead of stopping all behind it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError

from factorflow.bootstrap import build_services
from factorflow.db.base import transaction
from factorflow.settings import Settings
from factorflow.users.models import Realm
from tests.conftest import BACKEND
from tests.conftest import test_settings as settings_for

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="SQLite and MariaDB bound lock waits themselves"
)


def test_the_setting_bounds_every_connections_lock_wait(settings: Settings) -> None:
    services = build_services(settings.model_copy(update={"database_lock_timeout_seconds": 2}))
    try:
        with transaction(services.sessions) as session:
            assert session.scalar(text("SHOW lock_timeout")) == "2s"
    finally:
        services.close()


def test_a_statement_behind_a_held_lock_fails_instead_of_waiting_for_ever(
    tmp_path_factory: pytest.TempPathFactory, database_url: str
) -> None:
    settings = settings_for(
        tmp_path_factory.mktemp("locks") / "data", database_url, database_lock_timeout_seconds=1
    )
    services = build_services(settings, migrate=False)
    try:
        with transaction(services.sessions, write=True) as session:
            session.add(Realm(name="locked"))
        holder_has_it, release = threading.Event(), threading.Event()

        def hold() -> None:
            with transaction(services.sessions, write=True) as session:
                session.execute(update(Realm).where(Realm.name == "locked").values(name="held"))
                holder_has_it.set()
                release.wait(30)
                session.rollback()

        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        assert holder_has_it.wait(10)
        try:
            with (
                pytest.raises(OperationalError, match="lock timeout"),
                transaction(services.sessions, write=True) as session,
            ):
                session.execute(select(Realm).where(Realm.name == "locked").with_for_update())
        finally:
            release.set()
            holder.join(10)
        with transaction(services.sessions, write=True) as session:
            session.execute(text("DELETE FROM realm WHERE name = 'locked'"))
    finally:
        services.close()
