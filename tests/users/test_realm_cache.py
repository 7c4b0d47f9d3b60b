"""The realm cache (factorflow.users.realm_cache): lookups read realms, resolvers and
which realms have custom attributes from a per-process snapshot. This process sees a
change at once when it commits; another process (here: a second UserService on the
same database, with a clock the test moves) within ``config_reload_seconds``; a
rolled-back change never."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from factorflow.bootstrap import Services
from factorflow.errors import UserError
from factorflow.users.service import UserService
from tests.clocks import SecondsClock

RELOAD_SECONDS = 5.0


@pytest.fixture
def flat(services: Services, passwd_file: Path) -> Services:
    """Realm ``flat`` (the default) with the flat-file resolver ``flat``."""
    with services.sessions.begin() as session:
        services.users.save_resolver(
            session, "flat", "passwdresolver", {"fileName": str(passwd_file)}
        )
        services.users.save_realm(session, "flat", ["flat"])
    return services


@pytest.fixture
def clock() -> SecondsClock:
    return SecondsClock()


@pytest.fixture
def other_process(flat: Services, clock: SecondsClock) -> Iterator[UserService]:
    """Another process's user service: its own realm cache, with ``clock``."""
    settings = flat.settings.model_copy(update={"config_reload_seconds": RELOAD_SECONDS})
    other = UserService(
        sessions=flat.sessions, box=flat.box, stores=flat.user_stores, settings=settings,
        hasher=flat.hasher, clock=clock,
    )  # fmt: skip
    yield other
    other.close()


def realm_of(users: UserService, services: Services, login: str, realm: str = "") -> str:
    with services.sessions() as session:
        return users.resolve(session, login, realm).realm


def test_a_new_realm_is_seen_by_this_process_at_once(flat: Services) -> None:
    users = flat.users
    with flat.sessions() as session:
        assert not users.realm_exists(session, "second")
    with flat.sessions.begin() as session:
        users.save_realm(session, "second", ["flat"])
    assert realm_of(users, flat, "alice", "second") == "second"


def test_another_process_sees_a_change_within_the_reload_interval(
    flat: Services, other_process: UserService, clock: SecondsClock
) -> None:
    assert realm_of(other_process, flat, "alice") == "flat"  # loads its snapshot
    with flat.sessions.begin() as session:
        flat.users.save_realm(session, "second", ["flat"])
        flat.users.set_default_realm(session, "second")
    assert realm_of(flat.users, flat, "alice") == "second"
    # Within the interval the other process still answers from what it loaded ...
    clock.advance(RELOAD_SECONDS / 2)
    assert realm_of(other_process, flat, "alice") == "flat"
    with flat.sessions() as session, pytest.raises(UserError):
        other_process.resolve(session, "alice", "second")
    # ... and after it, from the new configuration.
    clock.advance(RELOAD_SECONDS)
    assert realm_of(other_process, flat, "alice") == "second"
    assert realm_of(other_process, flat, "alice", "second") == "second"


def test_a_deleted_realm_is_gone_for_the_other_process_after_the_interval(
    flat: Services, other_process: UserService, clock: SecondsClock
) -> None:
    with flat.sessions.begin() as session:
        flat.users.save_realm(session, "second", ["flat"])
    clock.advance(RELOAD_SECONDS + 1)
    assert realm_of(other_process, flat, "alice", "second") == "second"
    with flat.sessions.begin() as session:
        flat.users.delete_realm(session, "second")
    clock.advance(RELOAD_SECONDS + 1)
    with flat.sessions() as session:
        assert not other_process.realm_exists(session, "second")
        with pytest.raises(UserError):
            other_process.resolve(session, "alice", "second")


def test_a_rolled_back_change_never_reaches_the_cache(flat: Services) -> None:
    users = flat.users
    session = flat.sessions()
    try:
        users.save_realm(session, "second", ["flat"])
        # The unit of work that made the change reads its own configuration ...
        assert users.resolve(session, "alice", "second").realm == "second"
        session.rollback()
    finally:
        session.close()
    # ... and nobody else ever sees it.
    with flat.sessions() as session:
        assert not users.realm_exists(session, "second")


def test_the_first_custom_attribute_of_a_realm_reaches_the_other_process(
    flat: Services, other_process: UserService, clock: SecondsClock
) -> None:
    with flat.sessions() as session:
        alice = other_process.resolve(session, "alice")
        assert "department" not in alice.attributes
    with flat.sessions.begin() as session:
        flat.users.set_custom_attribute(session, alice, "department", "finance")
    with flat.sessions() as session:
        assert flat.users.resolve(session, "alice").attributes["department"] == "finance"
    clock.advance(RELOAD_SECONDS + 1)
    with flat.sessions() as session:
        assert other_process.resolve(session, "alice").attributes["department"] == "finance"


def test_a_changed_resolver_configuration_is_seen_by_the_other_process(
    flat: Services, other_process: UserService, clock: SecondsClock, tmp_path: Path
) -> None:
    assert realm_of(other_process, flat, "alice") == "flat"
    empty = tmp_path / "empty.passwd"
    empty.write_text("")
    with flat.sessions.begin() as session:
        flat.users.save_resolver(session, "flat", "passwdresolver", {"fileName": str(empty)})
    clock.advance(RELOAD_SECONDS + 1)
    with flat.sessions() as session, pytest.raises(UserError):
        other_process.resolve(session, "alice")
