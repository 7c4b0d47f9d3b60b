"""UserService: resolution rules, the store cache, and concurrent use."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from passlib.hash import sha512_crypt
from sqlalchemy import create_engine, text

from factorflow.bootstrap import Services
from factorflow.errors import UserError
from factorflow.users.errors import ResolverInUseError, StoreUnavailableError
from factorflow.users.service import NOT_FOUND
from tests.conftest import USER_PASSWORDS
from tests.users.conftest import SqlUserDb


@pytest.fixture
def realms(services: Services, passwd_file: Path, sqlite_userdb: SqlUserDb) -> Services:
    """realm ``flat`` (default; flat file) and realm ``mixed`` (sql at priority 1, flat at 2)."""
    with services.sessions.begin() as session:
        users = services.users
        users.save_resolver(session, "flat", "passwdresolver", {"fileName": str(passwd_file)})
        users.save_resolver(
            session, "sql", "sqlresolver", sqlite_userdb.options(Where="active == 1")
        )
        users.save_realm(session, "flat", ["flat"])
        users.save_realm(session, "mixed", ["flat", "sql"], {"sql": 1, "flat": 2})
    return services


def test_resolve_in_default_realm_and_by_priority(realms: Services) -> None:
    with realms.sessions() as session:
        users = realms.users
        alice = users.resolve(session, "alice")
        assert (alice.login, alice.realm, alice.resolver, alice.uid) == (
            "alice",
            "flat",
            "flat",
            "1000",
        )
        assert alice.attribute("email") == "alice@example.com"
        mixed = users.resolve(session, "alice", "MIXED")
        assert (mixed.realm, mixed.resolver) == ("mixed", "sql")
        assert users.check_password(session, mixed, USER_PASSWORDS["alice"]) is True
        assert users.check_password(session, mixed, "wrong") is False
        assert users.check_password(session, mixed, "") is False


def test_priority_change_takes_effect(realms: Services) -> None:
    with realms.sessions.begin() as session:
        realms.users.save_realm(session, "mixed", ["flat", "sql"], {"sql": 9, "flat": 2})
    with realms.sessions() as session:
        assert realms.users.resolve(session, "alice", "mixed").resolver == "flat"


@pytest.mark.parametrize(
    ("login", "realm", "expected"),
    [
        ("alice@mixed", "", ("alice", "mixed")),
        ("alice@flat", "mixed", ("alice", "mixed")),  # an explicit realm wins
        ("alice@nosuchrealm", "", None),  # not a realm: the whole string is the login
        ("nobody", "", None),
        ("alice", "nosuchrealm", None),
        ("", "", None),
        ("*", "", None),
        ("al*", "flat", None),
    ],
)
def test_split_at_sign_and_not_found(
    realms: Services, login: str, realm: str, expected: tuple[str, str] | None
) -> None:
    with realms.sessions() as session:
        if expected is None:
            with pytest.raises(UserError) as info:
                realms.users.resolve(session, login, realm)
            assert info.value.code == 904 and info.value.message == NOT_FOUND
        else:
            user = realms.users.resolve(session, login, realm)
            assert (user.login, user.realm) == expected


def test_split_at_sign_can_be_turned_off(realms: Services) -> None:
    realms.settings.split_at_sign = False
    with realms.sessions() as session, pytest.raises(UserError):
        realms.users.resolve(session, "alice@mixed")


def test_get_user_and_custom_attributes_merge(realms: Services) -> None:
    with realms.sessions.begin() as session:
        alice = realms.users.resolve(session, "alice", "flat")
        realms.users.set_custom_attribute(session, alice, "team", "red")
    with realms.sessions() as session:
        again = realms.users.get_user(session, "flat", "flat", "1000")
        assert again.attribute("team") == "red" and again.attribute("surname") == "Smith"
        other_realm = realms.users.get_user(session, "mixed", "flat", "1000")
        assert other_realm.attribute("team") == ""
        with pytest.raises(UserError):
            realms.users.get_user(session, "flat", "flat", "9999")
        with pytest.raises(UserError):
            realms.users.get_user(session, "flat", "gone", "1000")


def test_config_change_replaces_the_cached_store(realms: Services, tmp_path: Path) -> None:
    other = tmp_path / "other.passwd"
    other.write_text(f"zed:{sha512_crypt.hash('zed-pw', rounds=5000)}:5:5:Zed Z:/:/bin/sh\n")
    with realms.sessions() as session:
        assert realms.users.resolve(session, "alice", "flat").uid == "1000"
    with realms.sessions.begin() as session:
        realms.users.save_resolver(session, "flat", "passwdresolver", {"fileName": str(other)})
    with realms.sessions() as session:
        with pytest.raises(UserError):
            realms.users.resolve(session, "alice", "flat")
        assert realms.users.resolve(session, "zed", "flat").uid == "5"


def test_unreachable_store_is_an_error_not_a_missing_user(
    realms: Services, sqlite_userdb: SqlUserDb
) -> None:
    Path(sqlite_userdb.url.removeprefix("sqlite:///")).unlink()
    with realms.sessions() as session, pytest.raises(StoreUnavailableError):
        realms.users.resolve(session, "alice", "mixed")


def test_resolver_in_use_cannot_be_deleted(realms: Services) -> None:
    with realms.sessions() as session, pytest.raises(ResolverInUseError):
        realms.users.delete_resolver(session, "sql")


def test_concurrent_resolution_and_reconfiguration(realms: Services, passwd_file: Path) -> None:
    def work(i: int) -> str:
        with realms.sessions() as session:
            if i % 10 == 0:
                # Rewriting the same options changes the stored JSON only in its secrets
                # (none here): the cache must survive reconfiguration under load.
                realms.users.save_resolver(
                    session, "flat", "passwdresolver", {"fileName": str(passwd_file)}
                )
                session.commit()
            user = realms.users.resolve(session, "bob", "mixed")
            ok = realms.users.check_password(session, user, USER_PASSWORDS["bob"])
            return f"{user.resolver}:{user.uid}:{ok}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(80)))
    assert set(results) == {"sql:1001:True"}


def _set_active(db: SqlUserDb, login: str, active: int) -> None:
    engine = create_engine(db.url)
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE {db.table} SET active = :active WHERE login = :login"),
            {"active": active, "login": login},
        )
    engine.dispose()


def test_a_unit_of_work_asks_the_store_once_per_login_until_it_changes_realms(
    realms: Services, sqlite_userdb: SqlUserDb
) -> None:
    users = realms.users
    with realms.sessions.begin() as session:
        before = users.resolve(session, "alice", "mixed")
        with pytest.raises(UserError):
            users.resolve(session, "nobody", "mixed")
        # Changed behind the service's back: within the unit of work the first
        # answers stand, found or not.
        _set_active(sqlite_userdb, "alice", 0)
        assert users.resolve(session, "alice", "mixed").resolver == before.resolver == "sql"
        # A change the unit of work makes itself is seen by its next lookup.
        users.save_realm(session, "mixed", ["flat", "sql"], {"sql": 1, "flat": 2})
        assert users.resolve(session, "alice", "mixed").resolver == "flat"
    _set_active(sqlite_userdb, "alice", 1)
    with realms.sessions() as session:
        assert users.resolve(session, "alice", "mixed").resolver == "sql"


def test_a_changed_custom_attribute_is_seen_by_the_next_lookup_in_the_request(
    realms: Services,
) -> None:
    users = realms.users
    with realms.sessions.begin() as session:
        alice = users.resolve(session, "alice", "flat")
        assert alice.attribute("department") == ""
        users.set_custom_attribute(session, alice, "department", "help desk")
        assert users.resolve(session, "alice", "flat").attribute("department") == "help desk"
        users.delete_custom_attribute(session, alice, "department")
        assert users.resolve(session, "alice", "flat").attribute("department") == ""
