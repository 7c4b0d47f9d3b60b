"""The UserStore contract, run against every store: flat file and SQL on SQLite,
PostgreSQL (a table in a schema) and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from factorflow.crypto import Hasher
from factorflow.users.base import UserStore
from factorflow.users.errors import StoreNotEditableError, UserExistsError
from factorflow.users.stores import flatfile, passwords, sql
from factorflow.users.stores.flatfile import FlatFileOptions, FlatFileUserStore
from factorflow.users.stores.sql import SqlOptions, SqlUserStore
from tests.conftest import USER_PASSWORDS
from tests.users.conftest import PEOPLE, SqlUserDb

HASHER = Hasher(time_cost=1, memory_kib=1024, parallelism=1)
STORES = ["flatfile", "sql-sqlite", "sql-postgresql", "sql-mariadb"]
SQL_DBS = {
    "sql-sqlite": "sqlite_userdb",
    "sql-postgresql": "pg_people",
    "sql-mariadb": "mariadb_people",
}


def sql_store(db: SqlUserDb, *, editable: bool = False) -> SqlUserStore:
    options = SqlOptions.model_validate(
        db.options(Where="active == 1", Editable="1" if editable else "0")
    )
    return SqlUserStore("sql", options, hasher=HASHER)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, passwd_file: Path) -> Iterator[UserStore]:
    built: UserStore
    if request.param == "flatfile":
        built = FlatFileUserStore(
            "flat", FlatFileOptions.model_validate({"fileName": str(passwd_file)})
        )
    else:
        built = sql_store(request.getfixturevalue(SQL_DBS[request.param]))
    yield built
    built.close()


@pytest.fixture(params=list(SQL_DBS))
def editable_store(request: pytest.FixtureRequest) -> Iterator[SqlUserStore]:
    built = sql_store(request.getfixturevalue(SQL_DBS[request.param]), editable=True)
    yield built
    built.close()


def test_find_returns_the_standard_attributes(store: UserStore) -> None:
    record = store.find("alice")
    assert record is not None
    uid, given, sur, phone, mobile, mail = PEOPLE["alice"]
    assert (record.uid, record.login) == (uid, "alice")
    attrs = record.attributes
    assert (attrs["givenname"], attrs["surname"], attrs["email"]) == (given, sur, mail)
    assert (attrs["phone"], attrs["mobile"]) == (phone, mobile)
    assert attrs["username"] == "alice" and attrs["userid"] == uid
    assert "password" not in attrs


def test_lookup_by_login_and_id_agree(store: UserStore) -> None:
    for login, (uid, *_rest) in PEOPLE.items():
        assert store.user_id(login) == uid
        record = store.get(uid)
        assert record is not None and record.login == login


@pytest.mark.parametrize(
    "login",
    ["nobody", "", "ALICE", "alice ", "al*", "%", "alice' OR '1'='1", "a_ice", "*", "ghost"],
)
def test_unknown_or_odd_logins_are_not_found(store: UserStore, login: str) -> None:
    assert store.user_id(login) is None
    assert store.find(login) is None


@pytest.mark.parametrize("uid", ["9999", "", "1000 OR 1=1", "abc", "*", "1%", "1099"])
def test_unknown_or_odd_ids_are_not_found(store: UserStore, uid: str) -> None:
    assert store.get(uid) is None
    assert store.check_password(uid, "anything") is False


def logins(records: list[object]) -> set[str]:
    return {r.login for r in records}  # type: ignore[attr-defined]


def test_search_without_filters_lists_everybody_in_scope(store: UserStore) -> None:
    assert logins(store.search({}, 100)) == set(PEOPLE)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"username": "alice"}, {"alice"}),
        ({"username": "a*"}, {"alice"}),
        ({"username": "A*"}, {"alice"}),
        ({"username": "*o*"}, {"bob", "carol"}),
        ({"username": "*"}, set(PEOPLE)),
        ({"email": "*@example.com"}, set(PEOPLE)),
        ({"email": "*@example.com", "givenname": "Bob"}, {"bob"}),
        ({"surname": "White"}, {"carol"}),
        ({"userid": "1001"}, {"bob"}),
        ({"username": "nobody*"}, set()),
        ({"username": "%"}, set()),
        ({"username": "_lice"}, set()),
        ({"username": "al%"}, set()),
        ({"username": "*'*"}, set()),
        ({"username": "\\*"}, set()),
        ({"username": "alice'--"}, set()),
        ({"username": "ghost"}, set()),
    ],
)
def test_search_filters_and_wildcards(
    store: UserStore, filters: dict[str, str], expected: set[str]
) -> None:
    assert logins(store.search(filters, 100)) == expected


def test_search_respects_the_limit(store: UserStore) -> None:
    assert len(store.search({}, 2)) == 2


def test_search_on_an_attribute_the_store_lacks_matches_nobody(store: UserStore) -> None:
    assert store.search({"nonexistent": "x"}, 100) == []


def test_check_password(store: UserStore) -> None:
    for login, (uid, *_rest) in PEOPLE.items():
        assert store.check_password(uid, USER_PASSWORDS[login]) is True
        assert store.check_password(uid, USER_PASSWORDS[login] + "x") is False
        assert store.check_password(uid, "") is False
    assert store.check_password(PEOPLE["alice"][0], USER_PASSWORDS["bob"]) is False


def test_test_reports_success_with_a_count(store: UserStore) -> None:
    result = store.test()
    assert result.ok is True
    assert result.user_count == 3


def test_read_only_stores_refuse_changes(store: UserStore) -> None:
    assert store.editable is False
    with pytest.raises(StoreNotEditableError):
        store.add({"username": "dave"}, "pw")
    with pytest.raises(StoreNotEditableError):
        store.update(PEOPLE["alice"][0], {"email": "x@example.com"}, None)
    with pytest.raises(StoreNotEditableError):
        store.delete(PEOPLE["alice"][0])
    assert store.find("dave") is None
    record = store.find("alice")
    assert record is not None and record.attributes["email"] == "alice@example.com"


def test_editable_store_round_trip(editable_store: SqlUserStore) -> None:
    uid = editable_store.add(
        {
            "username": "dave",
            "givenname": "Dave",
            "surname": "O'Brien",
            "email": "dave@example.com",
        },
        "dave-pass-1",
    )
    record = editable_store.get(uid)
    assert record is not None and record.login == "dave"
    assert record.attributes["surname"] == "O'Brien"
    assert editable_store.check_password(uid, "dave-pass-1") is True
    assert editable_store.check_password(uid, "wrong") is False

    editable_store.update(uid, {"email": "d@example.org"}, "new-pass-2")
    record = editable_store.get(uid)
    assert record is not None and record.attributes["email"] == "d@example.org"
    assert editable_store.check_password(uid, "dave-pass-1") is False
    assert editable_store.check_password(uid, "new-pass-2") is True

    editable_store.delete(uid)
    assert editable_store.get(uid) is None
    assert logins(editable_store.search({}, 100)) == set(PEOPLE)


def test_editable_store_refuses_a_duplicate_login(editable_store: SqlUserStore) -> None:
    with pytest.raises(UserExistsError):
        editable_store.add({"username": "alice"}, "whatever-1")
    assert len(editable_store.search({"username": "alice"}, 100)) == 1


def test_editable_store_stores_argon2_hashes(
    editable_store: SqlUserStore, request: pytest.FixtureRequest
) -> None:
    from sqlalchemy import select

    uid = editable_store.add({"username": "erin"}, "erin-pass-1")
    engine, table = editable_store._reflect()
    with engine.connect() as conn:
        stored = conn.execute(select(table.c.pw).where(table.c.id == int(uid))).scalar_one()
    assert stored.startswith("$argon2id$")
    assert "erin-pass-1" not in stored


def test_an_unknown_login_costs_one_verification_of_the_same_kind(
    store: UserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``check_unknown_password`` imitates ``check_password``: one verification, of a
    decoy with the format and cost of the users' hashes (no timers: the calls count)."""
    checked: list[str] = []
    for module in (passwords, flatfile, sql):
        original = module.verify_password

        def recording(stored: str, password: str, original: Any = original) -> bool:
            checked.append(stored)
            return bool(original(stored, password))

        monkeypatch.setattr(module, "verify_password", recording)
    store.check_password(PEOPLE["alice"][0], "wrong-password")
    store.check_unknown_password("wrong-password")
    [real, decoy] = checked
    assert real != decoy
    assert passwords.cost_of(real) == passwords.cost_of(decoy) is not None
    assert passwords.verify_password(decoy, USER_PASSWORDS["alice"]) is False
