"""The LDAP user store against a real slapd: its own contract cases, AD-style mapping,
failover, TLS, timeouts, the lookup cache and filter escaping."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from ldap3 import MODIFY_REPLACE, Connection

from factorflow.users.errors import StoreUnavailableError
from factorflow.users.stores.ldap import (
    LdapUserStore,
    guid_to_string,
    string_to_guid,
    substring_filter,
)
from tests.clocks import SecondsClock
from tests.conftest import USER_PASSWORDS
from tests.users.conftest import PEOPLE
from tests.users.ldap.conftest import StoreFactory
from tests.users.ldap.slapd import AD_BASE, AD_USERS, ODD_LOGIN, ODD_PASSWORD, PEOPLE_BASE, Slapd

ALL_LOGINS = sorted([*PEOPLE, ODD_LOGIN])


# -- the store contract, LDAP's own cases ----------------------------------------------
# (the contract itself runs against slapd in tests/users/test_store_contract.py; here:
# the other id types, the odd user made of filter metacharacters, directory scopes)


@pytest.mark.parametrize("uid_type", ["entryUUID", "DN"])
def test_find_returns_the_mapped_attributes(make_store: StoreFactory, uid_type: str) -> None:
    store = make_store(UIDTYPE=uid_type)
    record = store.find("alice")
    assert record is not None
    _, given, sur, phone, mobile, mail = PEOPLE["alice"]
    attrs = record.attributes
    assert record.login == attrs["username"] == "alice"
    assert (attrs["givenname"], attrs["surname"], attrs["email"]) == (given, sur, mail)
    assert (attrs["phone"], attrs["mobile"]) == (phone, mobile)
    assert attrs["userid"] == record.uid
    assert "password" not in attrs and "userPassword" not in attrs
    if uid_type == "DN":
        assert record.uid == f"uid=alice,{PEOPLE_BASE}"
    else:
        assert str(uuid.UUID(record.uid)) == record.uid


@pytest.mark.parametrize("uid_type", ["entryUUID", "DN"])
def test_lookup_by_login_and_id_agree(make_store: StoreFactory, uid_type: str) -> None:
    store = make_store(UIDTYPE=uid_type)
    for login in ALL_LOGINS:
        uid = store.user_id(login)
        assert uid is not None
        record = store.get(uid)
        assert record is not None and record.login == login


@pytest.mark.parametrize(
    "login",
    ["nobody", "", "*", "al*", "a*e", "odd*", "odd*(user)", "*)(uid=*", "alice)(|(uid=*",
     "\\", "(", ")", "a\x00", "\x00", "odd*(user)\\x*", "alice\\2a"],
)  # fmt: skip
def test_metacharacters_in_logins_are_literal(make_store: StoreFactory, login: str) -> None:
    store = make_store()
    assert store.find(login) is None
    assert store.user_id(login) is None


def test_a_login_made_of_metacharacters_is_found(make_store: StoreFactory) -> None:
    store = make_store(CACHE_TIMEOUT="120")
    record = store.find(ODD_LOGIN)
    assert record is not None and record.login == ODD_LOGIN
    assert store.check_password(record.uid, ODD_PASSWORD)
    assert [r.login for r in store.search({"username": ODD_LOGIN}, 10)] == [ODD_LOGIN]
    assert [r.login for r in store.search({"username": "odd*"}, 10)] == [ODD_LOGIN]
    assert [r.login for r in store.search({"username": "*(user)\\x"}, 10)] == [ODD_LOGIN]


@pytest.mark.parametrize(
    "uid", ["", "nonsense", "*", str(uuid.uuid4()), "cn=x,dc=elsewhere", "uid=*,ou=people"]
)
@pytest.mark.parametrize("uid_type", ["entryUUID", "DN"])
def test_unknown_ids_are_not_found(make_store: StoreFactory, uid_type: str, uid: str) -> None:
    store = make_store(UIDTYPE=uid_type)
    assert store.get(uid) is None
    assert store.check_password(uid, "whatever") is False


def test_a_dn_outside_the_base_is_no_user(make_store: StoreFactory) -> None:
    store = make_store(UIDTYPE="DN")
    assert store.get(f"cn=Dave.Admin,{AD_BASE}") is None


def test_search_with_wildcards(make_store: StoreFactory) -> None:
    store = make_store()
    assert [r.login for r in store.search({}, 100)] == ALL_LOGINS
    assert [r.login for r in store.search({"username": "*"}, 100)] == ALL_LOGINS
    assert [r.login for r in store.search({"username": "*o*"}, 100)] == ["bob", "carol", ODD_LOGIN]
    assert [r.login for r in store.search({"email": "*@EXAMPLE.com"}, 100)] == ALL_LOGINS
    assert [r.login for r in store.search({"surname": "Smith"}, 100)] == ["alice"]
    assert store.search({"surname": "smith"}, 100) == []  # exact means exact
    assert [r.login for r in store.search({"givenname": "B*", "surname": "J*"}, 100)] == ["bob"]
    assert store.search({"username": "*", "unknown": "x"}, 100) == []
    assert len(store.search({"username": "*"}, 2)) == 2
    alice = store.find("alice")
    assert alice is not None
    assert [r.login for r in store.search({"userid": alice.uid}, 100)] == ["alice"]


def test_size_limit_caps_searches(make_store: StoreFactory) -> None:
    assert len(make_store(SIZELIMIT="2").search({}, 100)) == 2


def test_an_empty_password_never_binds_even_with_anonymous_binds_allowed(
    make_store: StoreFactory,
) -> None:
    """slapd accepts anonymous binds here; an empty password must still fail."""
    store = make_store(BINDDN="", BINDPW="")
    alice = store.find("alice")  # the anonymous service bind works
    assert alice is not None
    assert store.check_password(alice.uid, "") is False
    assert store.connector.bind_as(alice.uid, "") is False


def test_test_counts_users(make_store: StoreFactory) -> None:
    result = make_store().test()
    assert result.ok and result.user_count == len(ALL_LOGINS), result
    assert f"{len(ALL_LOGINS)} user objects found" in result.message


def test_paged_search_spans_pages(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of one entry: every user still comes back."""
    store = make_store()
    real = store.opts.size_limit
    assert real >= len(ALL_LOGINS)
    monkeypatch.setattr("factorflow.users.stores.ldap.PAGE_SIZE", 1)
    assert [r.login for r in store.search({}, 100)] == ALL_LOGINS


def test_multivalue_attributes(make_store: StoreFactory, ldap_admin: Connection) -> None:
    dn = f"uid=bob,{PEOPLE_BASE}"
    ldap_admin.modify(dn, {"mobile": [(MODIFY_REPLACE, ["+491", "+492"])]})
    try:
        single = make_store().find("bob")
        many = make_store(MULTIVALUEATTRIBUTES="mobile").find("bob")
        assert single is not None and many is not None
        assert single.attributes["mobile"] in ("+491", "+492")
        assert many.attributes["mobile"] == "+491, +492"
    finally:
        ldap_admin.modify(dn, {"mobile": [(MODIFY_REPLACE, [PEOPLE["bob"][4]])]})


# -- Active-Directory-style mapping ---------------------------------------------------


def ad_store(make_store: StoreFactory, **overrides: str) -> LdapUserStore:
    options: dict[str, str] = {
        "LDAPBASE": AD_BASE,
        "LOGINNAMEATTRIBUTE": "sAMAccountName",
        "LDAPSEARCHFILTER": "(sAMAccountName=*)(objectClass=person)",
        "USERINFO": '{"username": "sAMAccountName", "email": "mail", "givenname": "givenName"}',
        "UIDTYPE": "objectGUID",
    }
    options.update(overrides)
    return make_store(**options)


def test_ad_style_mapping_with_object_guid(make_store: StoreFactory) -> None:
    store = ad_store(make_store)
    for sam, (guid, password) in AD_USERS.items():
        record = store.find(sam.upper())  # sAMAccountName is case-insensitive
        assert record is not None
        assert record.login == sam and record.uid == str(guid)
        assert record.attributes["email"] == f"{sam.lower()}@ad.example.org"
        again = store.get(str(guid))
        assert again is not None and again.login == sam
        assert store.get("{" + str(guid).upper() + "}") is not None
        assert store.check_password(record.uid, password)
        assert not store.check_password(record.uid, "wrong")
    assert [r.login for r in store.search({"username": "*"}, 10)] == sorted(AD_USERS)
    assert store.get(str(uuid.uuid4())) is None
    assert store.get("not-a-guid") is None


def test_several_login_attributes(make_store: StoreFactory) -> None:
    store = ad_store(make_store, LOGINNAMEATTRIBUTE="sAMAccountName, mail")
    by_mail = store.find("erin@ad.example.org")
    by_sam = store.find("erin")
    assert by_mail is not None and by_sam is not None
    assert by_mail.uid == by_sam.uid and by_mail.login == "erin"


def test_guid_conversion_is_the_windows_byte_order() -> None:
    # Bytes as AD sends them for {3F2504E0-4F89-11D3-9A0C-0305E82C3301} (MS-DTYP GUID).
    raw = bytes.fromhex("e004253f894fd3119a0c0305e82c3301")
    assert guid_to_string(raw) == "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    assert string_to_guid("{3F2504E0-4F89-11D3-9A0C-0305E82C3301}") == raw
    assert string_to_guid("nope") is None


def test_substring_filter_escapes_all_but_the_wildcard() -> None:
    assert substring_filter("a*b") == "a*b"
    assert substring_filter("**x**") == "*x*"
    assert substring_filter("(\\)\x00*") == "\\28\\5c\\29\\00*"


# -- failover, TLS, timeouts, errors ------------------------------------------------------


def test_failover_to_the_second_uri(make_store: StoreFactory, slapd: Slapd, dead_port: int) -> None:
    store = make_store(LDAPURI=f"ldap://127.0.0.1:{dead_port}, {slapd.ldap_uri}")
    record = store.find("alice")
    assert record is not None
    assert store.check_password(record.uid, USER_PASSWORDS["alice"])


def test_ldaps_with_the_ca(make_store: StoreFactory, slapd: Slapd) -> None:
    store = make_store(LDAPURI=slapd.ldaps_uri, TLS_CA_FILE=str(slapd.pki.ca_file))
    record = store.find("bob")
    assert record is not None and store.check_password(record.uid, USER_PASSWORDS["bob"])


def test_starttls_with_the_ca(make_store: StoreFactory, slapd: Slapd) -> None:
    store = make_store(START_TLS="1", TLS_CA_FILE=str(slapd.pki.ca_file))
    record = store.find("bob")
    assert record is not None and store.check_password(record.uid, USER_PASSWORDS["bob"])


@pytest.mark.parametrize("starttls", [False, True])
def test_tls_with_the_wrong_ca_is_refused(
    make_store: StoreFactory, slapd: Slapd, starttls: bool
) -> None:
    options = {"TLS_CA_FILE": str(slapd.pki.other_ca_file)}
    if starttls:
        options["START_TLS"] = "1"
    else:
        options["LDAPURI"] = slapd.ldaps_uri
    store = make_store(**options)
    with pytest.raises(StoreUnavailableError, match="TLS failed"):
        store.find("alice")
    result = store.test()
    assert not result.ok and "TLS failed" in result.message


def test_tls_without_verification(make_store: StoreFactory, slapd: Slapd) -> None:
    store = make_store(LDAPURI=slapd.ldaps_uri, TLS_VERIFY="0")
    assert store.find("alice") is not None


def test_a_silent_server_fails_within_the_timeout(
    make_store: StoreFactory, silent_port: int
) -> None:
    store = make_store(LDAPURI=f"ldap://127.0.0.1:{silent_port}", TIMEOUT="1")
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="did not answer within TIMEOUT"):
        store.find("alice")
    result = store.test()
    # Generous bound: the point is "no hang", not speed.
    assert time.monotonic() - started < 10
    assert not result.ok and "TIMEOUT" in result.message


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"BINDPW": "wrong"}, "refused BINDDN and BINDPW"),
        ({"BINDDN": "cn=nobody,dc=example,dc=org"}, "refused BINDDN and BINDPW"),
        ({"LDAPBASE": "ou=nowhere,dc=example,dc=org"}, "LDAPBASE 'ou=nowhere,dc=example,dc=org'"),
        ({"LDAPURI": "ldap://127.0.0.1:{dead}"}, "no LDAP server of LDAPURI is reachable"),
    ],
)
def test_configuration_errors_are_clear(
    make_store: StoreFactory, dead_port: int, overrides: dict[str, str], message: str
) -> None:
    store = make_store(**{k: v.format(dead=dead_port) for k, v in overrides.items()})
    with pytest.raises(StoreUnavailableError, match=message):
        store.find("alice")
    result = store.test()
    assert not result.ok and message in result.message
    assert "wrong" not in result.message  # the bind password is never echoed


def test_a_closed_pooled_connection_is_replaced(make_store: StoreFactory) -> None:
    store = make_store()
    assert store.find("alice") is not None
    for conn in store.connector.idle:
        conn.socket.close()  # as if the server had dropped the idle connection
    assert store.find("bob") is not None


# -- the lookup cache -------------------------------------------------------------------


def test_changes_are_seen_after_the_cache_expires(
    make_store: StoreFactory, ldap_admin: Connection
) -> None:
    store = make_store(CACHE_TIMEOUT="60")
    clock = SecondsClock()
    store.cache.clock = clock
    dn = f"uid=carol,{PEOPLE_BASE}"
    before = store.find("carol")
    assert before is not None and before.attributes["surname"] == "White"
    assert ldap_admin.modify(dn, {"sn": [(MODIFY_REPLACE, ["Black"])]})
    try:
        cached = store.find("carol")
        assert cached is not None and cached.attributes["surname"] == "White"
        by_id = store.get(before.uid)
        assert by_id is not None and by_id.attributes["surname"] == "White"
        clock.now += 61
        fresh = store.find("carol")
        assert fresh is not None and fresh.attributes["surname"] == "Black"
        by_id = store.get(before.uid)
        assert by_id is not None and by_id.attributes["surname"] == "Black"
    finally:
        ldap_admin.modify(dn, {"sn": [(MODIFY_REPLACE, ["White"])]})


def test_no_cache_with_timeout_zero(make_store: StoreFactory, ldap_admin: Connection) -> None:
    store = make_store(CACHE_TIMEOUT="0")
    dn = f"uid=carol,{PEOPLE_BASE}"
    assert store.find("carol") is not None
    assert ldap_admin.modify(dn, {"givenName": [(MODIFY_REPLACE, ["Caroline"])]})
    try:
        record = store.find("carol")
        assert record is not None and record.attributes["givenname"] == "Caroline"
    finally:
        ldap_admin.modify(dn, {"givenName": [(MODIFY_REPLACE, ["Carol"])]})


def test_concurrent_lookups_share_a_bounded_pool(make_store: StoreFactory) -> None:
    store = make_store(POOLSIZE="2", CACHE_TIMEOUT="0")

    def work(login: str) -> bool:
        uid = store.user_id(login)
        return uid is not None and store.check_password(uid, USER_PASSWORDS[login])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, [*USER_PASSWORDS] * 10))
    assert all(results)
    assert len(store.connector.idle) <= 2


def test_any_unique_attribute_as_the_id(make_store: StoreFactory) -> None:
    store = make_store(UIDTYPE="UID")  # the server answers "uid": names compare case-insensitively
    record = store.find("bob")
    assert record is not None and record.uid == "bob"
    again = store.get("bob")
    assert again is not None and again.login == "bob"
    assert store.check_password("bob", USER_PASSWORDS["bob"])
    assert store.get("b*") is None
