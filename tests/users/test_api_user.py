"""/user: listing with filters, editable add/update/delete, custom attributes, and
what a user-role JWT may see."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import user_headers
from tests.users.conftest import SqlUserDb
from tests.users.helpers import error, ok


@pytest.fixture
def sql_realm(client: TestClient, admin_headers: dict[str, str], sqlite_userdb: SqlUserDb) -> str:
    """An editable SQL resolver ``people`` in realm ``staff`` (ghost filtered out by Where)."""
    params = {"type": "sqlresolver", **sqlite_userdb.options(Editable="1", Where="active == 1")}
    ok(client.post("/resolver/people", json=params, headers=admin_headers))
    ok(client.post("/realm/staff", data={"resolvers": "people"}, headers=admin_headers))
    return "staff"


def logins(users: list[dict[str, Any]]) -> list[str]:
    return sorted(u["username"] for u in users)


def test_list_users_of_a_realm(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    users = ok(client.get("/user/", params={"realm": "realm1"}, headers=admin_headers))
    assert logins(users) == ["alice", "bob", "carol"]
    alice = next(u for u in users if u["username"] == "alice")
    assert alice == {
        "username": "alice",
        "userid": "1000",
        "givenname": "Alice",
        "surname": "Smith",
        "email": "alice@example.com",
        "mobile": "+4917111",
        "phone": "+4930111",
        "description": "Alice Smith,,+4930111,+4917111,alice@example.com",
        "realm": "realm1",
        "resolver": "resolver1",
        "editable": False,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"username": "bob"}, ["bob"]),
        ({"user": "bob"}, ["bob"]),
        ({"username": "*o*"}, ["bob", "carol"]),
        ({"email": "*@example.com", "givenname": "Carol"}, ["carol"]),
        ({"surname": "Sm*"}, ["alice"]),
        ({"username": "%"}, []),
        ({"username": "a_ice"}, []),
        ({"username": "*)(uid=*"}, []),
        ({"username": "' OR 1=1 --"}, []),
        ({"resolver": "resolver1", "username": "alice"}, ["alice"]),
        ({"resolver": "other"}, []),
        ({"unknownattr": "zzz"}, ["alice", "bob", "carol"]),
    ],
)
def test_list_filters(
    client: TestClient,
    admin_headers: dict[str, str],
    flatfile_realm: str,
    params: dict[str, str],
    expected: list[str],
) -> None:
    users = ok(client.get("/user/", params={"realm": "realm1", **params}, headers=admin_headers))
    assert logins(users) == expected
    assert ok(
        client.get("/user/count", params={"realm": "realm1", **params}, headers=admin_headers)
    ) == len(expected)


def test_list_all_resolvers_and_a_single_resolver(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, sql_realm: str
) -> None:
    everyone = ok(client.get("/user/", headers=admin_headers))
    assert logins(everyone) == ["alice", "alice", "bob", "bob", "carol", "carol"]
    people = ok(client.get("/user/", params={"resolver": "people"}, headers=admin_headers))
    assert {u["resolver"] for u in people} == {"people"} and len(people) == 3
    assert all(u["editable"] for u in people)


def test_unreachable_resolver_is_reported_not_fatal(
    client: TestClient,
    admin_headers: dict[str, str],
    flatfile_realm: str,
    sql_realm: str,
    sqlite_userdb: SqlUserDb,
) -> None:
    from pathlib import Path

    Path(sqlite_userdb.url.removeprefix("sqlite:///")).unlink()
    response = client.get("/user/", headers=admin_headers)
    users = ok(response)
    assert logins(users) == ["alice", "bob", "carol"]
    assert "people" in response.json()["detail"]["skipped_resolvers"]


def test_add_update_delete_in_an_editable_store(
    client: TestClient, admin_headers: dict[str, str], sql_realm: str
) -> None:
    uid = ok(
        client.post(
            "/user/",
            json={
                "user": "dave",
                "resolver": "people",
                "password": "dave-pass-1",
                "givenname": "Dave",
                "surname": "O'Hara",
                "email": "dave@example.com",
                "mobile": "+4917333",
            },
            headers=admin_headers,
        )
    )
    assert isinstance(uid, str) and uid
    dave = ok(
        client.get("/user/", params={"realm": "staff", "username": "dave"}, headers=admin_headers)
    )
    assert [(u["surname"], u["mobile"], u["userid"]) for u in dave] == [("O'Hara", "+4917333", uid)]
    # The new user can log in with the password given.
    login = client.post(
        "/auth", data={"username": "dave", "realm": "staff", "password": "dave-pass-1"}
    )
    assert login.status_code == 200, login.text

    ok(
        client.put(
            "/user/",
            json={
                "user": "dave",
                "realm": "staff",
                "email": "d@example.org",
                "password": "dave-pass-2",
            },
            headers=admin_headers,
        )
    )
    dave = ok(
        client.get("/user/", params={"realm": "staff", "username": "dave"}, headers=admin_headers)
    )
    assert dave[0]["email"] == "d@example.org"
    assert (
        client.post(
            "/auth", data={"username": "dave", "realm": "staff", "password": "dave-pass-1"}
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/auth", data={"username": "dave", "realm": "staff", "password": "dave-pass-2"}
        ).status_code
        == 200
    )

    assert ok(client.delete("/user/people/dave", headers=admin_headers)) is True
    assert (
        ok(
            client.get(
                "/user/", params={"realm": "staff", "username": "dave"}, headers=admin_headers
            )
        )
        == []
    )


def users_of(client: TestClient, headers: dict[str, str], realm: str) -> list[dict[str, Any]]:
    return sorted(
        ok(client.get("/user/", params={"realm": realm}, headers=headers)),
        key=lambda u: u["username"],
    )


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "code", "contains"),
    [
        ("POST", "/user/", {"resolver": "people"}, 400, 905, "'user'"),
        ("POST", "/user/", {"user": "x"}, 400, 905, "'resolver'"),
        (
            "POST",
            "/user/",
            {"user": "alice", "resolver": "people", "password": "x"},
            400,
            904,
            "already exists",
        ),
        ("POST", "/user/", {"user": "x", "resolver": "nope"}, 404, 601, "nope"),
        ("POST", "/user/", {"user": "x", "resolver": "resolver1"}, 400, 907, "not editable"),
        ("POST", "/user/", {"user": "x" * 400, "resolver": "people"}, 400, 905, "'user'"),
        (
            "POST",
            "/user/",
            {"user": "x", "resolver": "people", "email": "e" * 2000},
            400,
            905,
            "'email'",
        ),
        (
            "POST",
            "/user/",
            {"user": "x", "resolver": "people", "email": {"a": 1}},
            400,
            905,
            "'email'",
        ),
        ("PUT", "/user/", {"realm": "staff"}, 400, 905, "'user'"),
        (
            "PUT",
            "/user/",
            {"user": "nobody", "realm": "staff", "email": "x@y.z"},
            400,
            904,
            "can not be found",
        ),
        (
            "PUT",
            "/user/",
            {"user": "nobody", "resolver": "people", "email": "x@y.z"},
            400,
            904,
            "does not exist",
        ),
        (
            "PUT",
            "/user/",
            {"user": "alice", "realm": "realm1", "email": "x@y.z"},
            400,
            907,
            "not editable",
        ),
        ("PUT", "/user/", {"user": "alice", "realm": "nope"}, 400, 904, "can not be found"),
        ("DELETE", "/user/people/nobody", {}, 400, 904, "does not exist"),
        ("DELETE", "/user/nope/alice", {}, 404, 601, "nope"),
        ("DELETE", "/user/resolver1/alice", {}, 400, 907, "not editable"),
        ("DELETE", "/user/people/%25", {}, 400, 904, "does not exist"),
        ("DELETE", "/user/people/a*", {}, 400, 904, "does not exist"),
        ("GET", "/user/", {"realm": "nope"}, 404, 601, "nope"),
        ("GET", "/user/", {"resolver": "nope"}, 404, 601, "nope"),
        ("GET", "/user/", {"username": "u" * 400}, 400, 905, "'username'"),
        ("GET", "/user/", {"realm": "r" * 200}, 400, 905, "'realm'"),
    ],
)
def test_bad_user_input_changes_nothing(
    client: TestClient,
    admin_headers: dict[str, str],
    flatfile_realm: str,
    sql_realm: str,
    method: str,
    path: str,
    params: dict[str, Any],
    status: int,
    code: int,
    contains: str,
) -> None:
    before = (users_of(client, admin_headers, "staff"), users_of(client, admin_headers, "realm1"))
    if method == "GET":
        response = client.get(path, params=params, headers=admin_headers)
    else:
        response = client.request(method, path, json=params or None, headers=admin_headers)
    error(response, status, code, contains)
    assert (
        users_of(client, admin_headers, "staff"),
        users_of(client, admin_headers, "realm1"),
    ) == before


def test_custom_attributes_round_trip(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    params = {"user": "alice", "realm": "realm1", "key": "department", "value": "R&D <ops>"}
    assert ok(client.post("/user/attribute", data=params, headers=admin_headers)) is True
    assert ok(
        client.get(
            "/user/attribute", params={"user": "alice", "realm": "realm1"}, headers=admin_headers
        )
    ) == {"department": "R&D <ops>"}
    one = client.get(
        "/user/attribute",
        params={"user": "alice", "realm": "realm1", "key": "department"},
        headers=admin_headers,
    )
    assert ok(one) == "R&D <ops>"
    listed = ok(
        client.get(
            "/user/",
            params={"realm": "realm1", "username": "alice", "include_custom_attributes": "1"},
            headers=admin_headers,
        )
    )
    assert listed[0]["department"] == "R&D <ops>"
    plain = ok(
        client.get("/user/", params={"realm": "realm1", "username": "alice"}, headers=admin_headers)
    )
    assert "department" not in plain[0]
    # bob has none
    assert (
        ok(
            client.get(
                "/user/attribute", params={"user": "bob", "realm": "realm1"}, headers=admin_headers
            )
        )
        == {}
    )
    assert (
        ok(client.delete("/user/attribute/department/alice/realm1", headers=admin_headers)) is True
    )
    assert (
        ok(client.delete("/user/attribute/department/alice/realm1", headers=admin_headers)) is False
    )
    assert (
        ok(
            client.get(
                "/user/attribute",
                params={"user": "alice", "realm": "realm1"},
                headers=admin_headers,
            )
        )
        == {}
    )


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "code", "contains"),
    [
        (
            "POST",
            "/user/attribute",
            {"realm": "realm1", "key": "k", "value": "v"},
            400,
            905,
            "'user'",
        ),
        (
            "POST",
            "/user/attribute",
            {"user": "alice", "realm": "realm1", "value": "v"},
            400,
            905,
            "'key'",
        ),
        (
            "POST",
            "/user/attribute",
            {"user": "alice", "realm": "realm1", "key": "k"},
            400,
            905,
            "'value'",
        ),
        (
            "POST",
            "/user/attribute",
            {"user": "alice", "realm": "realm1", "key": "username", "value": "v"},
            400,
            905,
            "reserved",
        ),
        (
            "POST",
            "/user/attribute",
            {"user": "alice", "realm": "realm1", "key": "k" * 300, "value": "v"},
            400,
            905,
            "'key'",
        ),
        (
            "POST",
            "/user/attribute",
            {"user": "alice", "realm": "realm1", "key": "k", "value": "v" * 5000},
            400,
            905,
            "'value'",
        ),
        (
            "POST",
            "/user/attribute",
            {"user": "nobody", "realm": "realm1", "key": "k", "value": "v"},
            400,
            904,
            "can not be found",
        ),
        (
            "POST",
            "/user/attribute",
            {"user": "alice", "realm": "nope", "key": "k", "value": "v"},
            400,
            904,
            "can not be found",
        ),
        ("DELETE", "/user/attribute/team/nobody/realm1", {}, 400, 904, "can not be found"),
        ("GET", "/user/attribute", {"realm": "realm1"}, 400, 905, "'user'"),
    ],
)
def test_bad_attribute_input_changes_nothing(
    client: TestClient,
    admin_headers: dict[str, str],
    flatfile_realm: str,
    method: str,
    path: str,
    params: dict[str, str],
    status: int,
    code: int,
    contains: str,
) -> None:
    ok(
        client.post(
            "/user/attribute",
            data={"user": "alice", "realm": "realm1", "key": "team", "value": "red"},
            headers=admin_headers,
        )
    )
    if method == "GET":
        response = client.get(path, params=params, headers=admin_headers)
    else:
        response = client.request(method, path, json=params or None, headers=admin_headers)
    error(response, status, code, contains)
    for login in ("alice", "bob", "carol"):
        expected = {"team": "red"} if login == "alice" else {}
        assert (
            ok(
                client.get(
                    "/user/attribute",
                    params={"user": login, "realm": "realm1"},
                    headers=admin_headers,
                )
            )
            == expected
        )


def test_user_role_sees_only_itself(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    ok(
        client.post(
            "/user/attribute",
            data={"user": "bob", "realm": "realm1", "key": "team", "value": "blue"},
            headers=admin_headers,
        )
    )
    ok(
        client.post(
            "/user/attribute",
            data={"user": "alice", "realm": "realm1", "key": "team", "value": "red"},
            headers=admin_headers,
        )
    )
    alice = user_headers(client, "alice")
    users = ok(client.get("/user/", params={"realm": "realm1", "username": "bob"}, headers=alice))
    assert logins(users) == ["alice"]
    assert ok(
        client.get("/user/attribute", params={"user": "bob", "realm": "realm1"}, headers=alice)
    ) == {"team": "red"}
    # Without a user policy that allows it (privacyIDEA's set_custom_user_attributes)
    # a user writes no custom attribute, and never another user's.
    error(
        client.post(
            "/user/attribute",
            data={"user": "alice", "realm": "realm1", "key": "k", "value": "v"},
            headers=alice,
        ),
        403,
        303,
    )
    error(client.delete("/user/attribute/team/bob/realm1", headers=alice), 403, 303)
    error(
        client.post("/user/", data={"user": "x", "resolver": "resolver1"}, headers=alice), 401, 4306
    )
    error(
        client.put(
            "/user/", data={"user": "alice", "realm": "realm1", "email": "x@y.z"}, headers=alice
        ),
        401,
        4306,
    )
    error(client.delete("/user/resolver1/bob", headers=alice), 401, 4306)
    assert ok(
        client.get(
            "/user/attribute", params={"user": "bob", "realm": "realm1"}, headers=admin_headers
        )
    ) == {"team": "blue"}


def test_user_at_realm_login_and_audit(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    ok(
        client.post(
            "/user/attribute",
            data={"user": "carol@realm1", "key": "k", "value": "v"},
            headers=admin_headers,
        )
    )
    assert ok(
        client.get(
            "/user/attribute", params={"user": "carol", "realm": "realm1"}, headers=admin_headers
        )
    ) == {"k": "v"}
