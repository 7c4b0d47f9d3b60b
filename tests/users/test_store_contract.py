"""The UserStore contract, run against every store type registered under
``factorflow.user_stores`` on every backend it has here (:mod:`tests.users.store_adapters`):
flat file, SQL on SQLite, PostgreSQL (a table in a schema) and MariaDB, LDAP against
the test slapd. The stores are built from privacyIDEA-style options through the
registry, as the server builds them; the last tests go through the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, create_engine, select
from starlette.testclient import TestClient

from factorflow.crypto import Hasher
from factorflow.registry import Registry
from factorflow.users.base import StoreOptions, UserStore
from factorflow.users.errors import StoreNotEditableError, StoreUnavailableError, UserExistsError
from factorflow.users.stores import flatfile, passwords, sql
from tests import factories
from tests.conftest import USER_PASSWORDS
from tests.plugins import Plugin, install
from tests.users.conftest import PEOPLE, SqlUserDb
from tests.users.store_adapters import ADAPTERS, Variant, variants_of

HASHER = Hasher(time_cost=1, memory_kib=1024, parallelism=1)
GROUP = "factorflow.user_stores"
REGISTERED = Registry.from_entry_points(GROUP, UserStore)  # type: ignore[type-abstract]
#: (type, variant) for every registered type; a type without an adapter is one
#: (type, None) case that fails naming it.
VARIANTS = [
    pytest.param((type_name, variant), id=variant.name if variant else type_name)
    for type_name in REGISTERED
    for variant in ADAPTERS.get(type_name) or [None]
]
EDITABLE = [
    pytest.param((type_name, variant), id=variant.name)
    for type_name in REGISTERED
    for variant in ADAPTERS.get(type_name, ())
    if variant.editable is not None
]


@dataclass
class Built:
    type_name: str
    variant: Variant
    options: dict[str, Any]
    store: UserStore

    def uid(self, login: str) -> str:
        return self.variant.uid_of(login)


def build(type_name: str, options: dict[str, Any], name: str = "contract") -> UserStore:
    """A store as the server builds one: the registered class, validated options."""
    cls = REGISTERED[type_name]
    return cls(name, cls.Options.model_validate(options), hasher=HASHER)


def built(request: pytest.FixtureRequest, editable: bool = False) -> Iterator[Built]:
    type_name, variant = request.param
    if variant is None:
        variants_of(type_name)  # fails, naming the type
    backend = request.getfixturevalue(variant.fixture)
    make = variant.editable if editable and variant.editable else variant.options
    options = make(backend)
    store = build(type_name, options)
    yield Built(type_name, variant, options, store)
    store.close()


@pytest.fixture(params=VARIANTS)
def subject(request: pytest.FixtureRequest) -> Iterator[Built]:
    yield from built(request)


@pytest.fixture
def store(subject: Built) -> UserStore:
    return subject.store


@pytest.fixture(params=EDITABLE)
def editable(request: pytest.FixtureRequest) -> Iterator[Built]:
    yield from built(request, editable=True)


def logins(records: list[Any]) -> set[str]:
    return {r.login for r in records}


# -- the registry -------------------------------------------------------------------------


def test_every_registered_store_type_has_an_adapter() -> None:
    missing = sorted(set(REGISTERED) - set(ADAPTERS))
    assert not missing, f"no adapter for {missing}"


def test_a_store_installed_by_entry_point_is_held_to_the_contract(plugin_site: Any) -> None:
    source = "from factorflow.users.stores.flatfile import FlatFileUserStore\n"
    source += "class AcmeStore(FlatFileUserStore):\n    type_name = 'acmeresolver'\n"
    install(
        plugin_site, Plugin("acme_store", source, GROUP, {"acmeresolver": "acme_store:AcmeStore"})
    )
    assert "acmeresolver" in Registry.from_entry_points(GROUP, UserStore)
    with pytest.raises(
        pytest.fail.Exception, match="'acmeresolver' is registered but has no adapter"
    ):
        variants_of("acmeresolver")


@pytest.mark.parametrize("type_name", sorted(REGISTERED))
def test_describes_its_options(
    type_name: str, client: TestClient, admin_headers: dict[str, str]
) -> None:
    cls = REGISTERED[type_name]
    assert cls.type_name == type_name
    assert issubclass(cls.Options, StoreOptions)
    names = {info.alias or name for name, info in cls.Options.model_fields.items()}
    assert cls.secret_options <= names
    defaults = factories.ok_value(
        client.get(f"/resolver/{type_name}/default", headers=admin_headers)
    )
    assert set(defaults) == names


# -- lookups ------------------------------------------------------------------------------


def test_find_returns_the_standard_attributes(subject: Built) -> None:
    record = subject.store.find("alice")
    assert record is not None
    _uid, given, sur, phone, mobile, mail = PEOPLE["alice"]
    assert (record.uid, record.login) == (subject.uid("alice"), "alice")
    attrs = record.attributes
    assert (attrs["givenname"], attrs["surname"], attrs["email"]) == (given, sur, mail)
    assert (attrs["phone"], attrs["mobile"]) == (phone, mobile)
    assert attrs["username"] == "alice" and attrs["userid"] == record.uid
    assert "password" not in attrs and "userPassword" not in attrs


def test_lookup_by_login_and_id_agree(subject: Built) -> None:
    for login in PEOPLE:
        assert subject.store.user_id(login) == subject.uid(login)
        record = subject.store.get(subject.uid(login))
        assert record is not None and record.login == login


@pytest.mark.parametrize(
    "login", ["nobody", "", "al*", "%", "alice' OR '1'='1", "a_ice", "*", "ghost", "alice\x00"]
)
def test_unknown_or_odd_logins_are_not_found(store: UserStore, login: str) -> None:
    assert store.user_id(login) is None
    assert store.find(login) is None


@pytest.mark.parametrize("login", ["ALICE", "alice ", " Alice"])
def test_logins_compare_as_the_backend_does(subject: Built, login: str) -> None:
    """A directory's matching rules find ``ALICE`` and ``alice `` (the record keeps the
    stored spelling); elsewhere a login matches exactly."""
    found = subject.store.find(login)
    if subject.variant.logins_by_directory_rules:
        assert found is not None and found.login == "alice"
    else:
        assert found is None and subject.store.user_id(login) is None


@pytest.mark.parametrize("uid", ["9999", "", "1000 OR 1=1", "abc", "*", "1%", "1099", "1000\x00"])
def test_unknown_or_odd_ids_are_not_found(store: UserStore, uid: str) -> None:
    assert store.get(uid) is None
    assert store.check_password(uid, "anything") is False


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
        ({"userid": "<bob>"}, {"bob"}),
        ({"username": "nobody*"}, set()),
        ({"username": "%"}, set()),
        ({"username": "_lice"}, set()),
        ({"username": "al%"}, set()),
        ({"username": "*'*"}, set()),
        ({"username": "\\*"}, set()),
        ({"username": "alice'--"}, set()),
        ({"username": "ghost"}, set()),
        ({"username": "al\x00*"}, set()),
    ],
)
def test_search_filters_and_wildcards(
    subject: Built, filters: dict[str, str], expected: set[str]
) -> None:
    """``<login>`` stands for the id the backend gives that user."""
    filters = {
        k: subject.uid(v[1:-1]) if v.startswith("<") and v.endswith(">") else v
        for k, v in filters.items()
    }
    assert logins(subject.store.search(filters, 100)) == expected


def test_search_respects_the_limit(store: UserStore) -> None:
    assert len(store.search({}, 2)) == 2


def test_search_on_an_attribute_the_store_lacks_matches_nobody(store: UserStore) -> None:
    assert store.search({"nonexistent": "x"}, 100) == []


def test_check_password(subject: Built) -> None:
    store = subject.store
    for login in PEOPLE:
        uid = subject.uid(login)
        assert store.check_password(uid, USER_PASSWORDS[login]) is True
        assert store.check_password(uid, USER_PASSWORDS[login] + "x") is False
        assert store.check_password(uid, "") is False
    assert store.check_password(subject.uid("alice"), USER_PASSWORDS["bob"]) is False


def test_test_reports_success_with_a_count(store: UserStore) -> None:
    result = store.test()
    assert result.ok is True
    assert result.user_count == 3


def test_an_unreachable_backend_is_unavailable_never_not_found(
    subject: Built, dead_port: int
) -> None:
    """A backend that cannot be reached raises StoreUnavailableError: "not found"
    would let a login name pass for unknown while the directory is down."""
    down = build(subject.type_name, subject.variant.unreachable(subject.options, dead_port))
    try:
        for call in (
            lambda: down.user_id("alice"),
            lambda: down.get(subject.uid("alice")),
            lambda: down.search({}, 10),
            lambda: down.check_password(subject.uid("alice"), USER_PASSWORDS["alice"]),
        ):
            with pytest.raises(StoreUnavailableError):
                call()
        try:
            result = down.test()
        except StoreUnavailableError:
            pass  # the resolver service reports it as a failed test
        else:
            assert result.ok is False and result.message
    finally:
        down.close()


def test_read_only_stores_refuse_changes(store: UserStore, subject: Built) -> None:
    assert store.editable is False
    with pytest.raises(StoreNotEditableError):
        store.add({"username": "dave"}, "pw")
    with pytest.raises(StoreNotEditableError):
        store.update(subject.uid("alice"), {"email": "x@example.com"}, None)
    with pytest.raises(StoreNotEditableError):
        store.delete(subject.uid("alice"))
    assert store.find("dave") is None
    record = store.find("alice")
    assert record is not None and record.attributes["email"] == "alice@example.com"


def test_an_unknown_login_costs_one_verification_of_the_same_kind(
    subject: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``check_unknown_password`` imitates ``check_password``: one verification, of a
    decoy with the format and cost of the users' hashes (no timers: the calls count).
    A store that binds to a directory cannot imitate the bind and spends nothing."""
    checked: list[str] = []
    for module in (passwords, flatfile, sql):
        original = module.verify_password

        def recording(stored: str, password: str, original: Any = original) -> bool:
            checked.append(stored)
            return bool(original(stored, password))

        monkeypatch.setattr(module, "verify_password", recording)
    assert subject.store.check_password(subject.uid("alice"), "wrong-password") is False
    subject.store.check_unknown_password("wrong-password")
    if not subject.variant.imitates_password_cost:
        assert checked == []
        return
    [real, decoy] = checked
    assert real != decoy
    assert passwords.cost_of(real) == passwords.cost_of(decoy) is not None
    assert passwords.verify_password(decoy, USER_PASSWORDS["alice"]) is False


# -- editable stores ----------------------------------------------------------------------


def test_editable_store_round_trip(editable: Built) -> None:
    store = editable.store
    uid = store.add(
        {
            "username": "dave",
            "givenname": "Dave",
            "surname": "O'Brien",
            "email": "dave@example.com",
        },
        "dave-pass-1",
    )
    record = store.get(uid)
    assert record is not None and record.login == "dave"
    assert record.attributes["surname"] == "O'Brien"
    assert store.check_password(uid, "dave-pass-1") is True
    assert store.check_password(uid, "wrong") is False

    store.update(uid, {"email": "d@example.org"}, "new-pass-2")
    record = store.get(uid)
    assert record is not None and record.attributes["email"] == "d@example.org"
    assert store.check_password(uid, "dave-pass-1") is False
    assert store.check_password(uid, "new-pass-2") is True

    store.delete(uid)
    assert store.get(uid) is None
    assert logins(store.search({}, 100)) == set(PEOPLE)


def test_editable_store_refuses_a_duplicate_login(editable: Built) -> None:
    with pytest.raises(UserExistsError):
        editable.store.add({"username": "alice"}, "whatever-1")
    assert len(editable.store.search({"username": "alice"}, 100)) == 1


def test_editable_sql_store_stores_argon2_hashes(
    editable: Built, request: pytest.FixtureRequest
) -> None:
    uid = editable.store.add({"username": "erin"}, "erin-pass-1")
    db = request.getfixturevalue(editable.variant.fixture)
    assert isinstance(db, SqlUserDb)
    engine = create_engine(db.url)
    schema, _, name = db.table.rpartition(".")
    try:
        table = Table(name, MetaData(), schema=schema or None, autoload_with=engine)
        with engine.connect() as conn:
            stored = conn.execute(select(table.c.pw).where(table.c.id == int(uid))).scalar_one()
    finally:
        engine.dispose()
    assert stored.startswith("$argon2id$")
    assert "erin-pass-1" not in stored


# -- through the API ----------------------------------------------------------------------


def test_a_realm_of_the_store_serves_logins_and_listings(
    subject: Built, client: TestClient, admin_headers: dict[str, str]
) -> None:
    """The store as a resolver of a realm: ``POST /resolver``, ``POST /realm``, the
    users listed by ``GET /user/`` and logging in with ``POST /auth``."""
    factories.add_resolver(client, admin_headers, "contract", subject.type_name, **subject.options)
    factories.add_realm(client, admin_headers, "contract", "contract")
    listed = factories.ok_value(
        client.get("/user/", params={"realm": "contract"}, headers=admin_headers)
    )
    assert {u["username"] for u in listed} == set(PEOPLE)
    assert {u["userid"] for u in listed} == {subject.uid(login) for login in PEOPLE}
    accepted = client.post(
        "/auth", data={"username": "bob", "realm": "contract", "password": USER_PASSWORDS["bob"]}
    )
    value = factories.ok_value(accepted)
    assert (value["role"], value["username"], value["realm"]) == ("user", "bob", "contract")
    refused = client.post(
        "/auth", data={"username": "bob", "realm": "contract", "password": "wrong-pass-1"}
    )
    assert refused.status_code == 401, refused.text
