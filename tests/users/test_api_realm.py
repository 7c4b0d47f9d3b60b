"""/realm and /defaultrealm round trips and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.users.conftest import SqlUserDb
from tests.users.helpers import config_state, error, ok


@pytest.fixture
def two_resolvers(
    client: TestClient, admin_headers: dict[str, str], passwd_file: Path, sqlite_userdb: SqlUserDb
) -> None:
    ok(
        client.post(
            "/resolver/flat",
            data={"type": "passwdresolver", "fileName": str(passwd_file)},
            headers=admin_headers,
        )
    )
    ok(
        client.post(
            "/resolver/sql",
            json={"type": "sqlresolver", **sqlite_userdb.options()},
            headers=admin_headers,
        )
    )


def test_first_realm_is_default_and_lists_resolvers_by_priority(
    client: TestClient, admin_headers: dict[str, str], two_resolvers: None
) -> None:
    value = ok(
        client.post(
            "/realm/Main",
            data={"resolvers": "flat,sql", "priority.flat": "20", "priority.sql": "10"},
            headers=admin_headers,
        )
    )
    assert value == {"added": ["flat", "sql"], "failed": []}
    realms = ok(client.get("/realm/", headers=admin_headers))
    assert list(realms) == ["main"]  # realm names are case-insensitive, kept lower case
    assert realms["main"]["default"] is True
    assert [(r["name"], r["type"], r["priority"]) for r in realms["main"]["resolver"]] == [
        ("sql", "sqlresolver", 10),
        ("flat", "passwdresolver", 20),
    ]
    ok(client.post("/realm/second", json={"resolvers": ["flat"]}, headers=admin_headers))
    realms = ok(client.get("/realm/", headers=admin_headers))
    assert realms["second"]["default"] is False
    assert list(ok(client.get("/defaultrealm", headers=admin_headers))) == ["main"]


def test_update_replaces_resolvers_and_reports_unknown_ones(
    client: TestClient, admin_headers: dict[str, str], two_resolvers: None
) -> None:
    ok(client.post("/realm/r", data={"resolvers": "flat,sql"}, headers=admin_headers))
    value = ok(client.post("/realm/r", data={"resolvers": "sql,ghost"}, headers=admin_headers))
    assert value == {"added": ["sql"], "failed": ["ghost"]}
    members = ok(client.get("/realm/", headers=admin_headers))["r"]["resolver"]
    assert [m["name"] for m in members] == ["sql"]
    # Re-adding the same resolver with a priority updates in place.
    ok(
        client.post(
            "/realm/r", data={"resolvers": "sql", "priority.sql": "5"}, headers=admin_headers
        )
    )
    members = ok(client.get("/realm/", headers=admin_headers))["r"]["resolver"]
    assert [(m["name"], m["priority"]) for m in members] == [("sql", 5)]


def test_default_realm_endpoints(
    client: TestClient, admin_headers: dict[str, str], two_resolvers: None
) -> None:
    ok(client.post("/realm/a", data={"resolvers": "flat"}, headers=admin_headers))
    ok(client.post("/realm/b", data={"resolvers": "sql"}, headers=admin_headers))
    assert ok(client.post("/defaultrealm/b", headers=admin_headers)) is True
    assert list(ok(client.get("/defaultrealm", headers=admin_headers))) == ["b"]
    realms = ok(client.get("/realm/", headers=admin_headers))
    assert (realms["a"]["default"], realms["b"]["default"]) == (False, True)
    assert ok(client.delete("/defaultrealm", headers=admin_headers)) is True
    assert ok(client.get("/defaultrealm", headers=admin_headers)) == {}
    assert ok(client.get("/realm/superuser", headers=admin_headers)) == {}


def test_delete_realm_and_the_last_one_becomes_default(
    client: TestClient, admin_headers: dict[str, str], two_resolvers: None
) -> None:
    ok(client.post("/realm/a", data={"resolvers": "flat"}, headers=admin_headers))
    ok(client.post("/realm/b", data={"resolvers": "sql"}, headers=admin_headers))
    assert ok(client.delete("/realm/a", headers=admin_headers)) is True
    realms = ok(client.get("/realm/", headers=admin_headers))
    assert list(realms) == ["b"] and realms["b"]["default"] is True
    # The resolver is free again and can be deleted.
    assert ok(client.delete("/resolver/flat", headers=admin_headers)) is True


def test_delete_realm_with_custom_attributes_needs_consent(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    ok(
        client.post(
            "/user/attribute",
            data={"user": "alice", "realm": "realm1", "key": "team", "value": "red"},
            headers=admin_headers,
        )
    )
    before = config_state(client, admin_headers)
    error(client.delete("/realm/realm1", headers=admin_headers), 400, 908, "custom user attributes")
    assert config_state(client, admin_headers) == before
    assert (
        ok(
            client.delete(
                "/realm/realm1", params={"delete_custom_attributes": "1"}, headers=admin_headers
            )
        )
        is True
    )
    assert ok(client.get("/realm/", headers=admin_headers)) == {}


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "code", "contains"),
    [
        ("POST", "/realm/r", {}, 400, 905, "resolvers"),
        ("POST", "/realm/r", {"resolvers": ""}, 400, 905, "resolvers"),
        ("POST", "/realm/r", {"resolvers": "ghost"}, 404, 601, "ghost"),
        (
            "POST",
            "/realm/r",
            {"resolvers": "flat", "priority.flat": "high"},
            400,
            905,
            "priority.flat",
        ),
        (
            "POST",
            "/realm/r",
            {"resolvers": "flat", "priority.flat": "-1"},
            400,
            905,
            "priority.flat",
        ),
        ("POST", "/realm/r", {"resolvers": "x" * 5000}, 400, 905, "resolvers"),
        ("POST", "/realm/r", {"resolvers": ["flat"] * 101}, 400, 905, "resolvers"),
        ("POST", "/realm/bad name", {"resolvers": "flat"}, 400, 905, "realm name"),
        ("POST", "/realm/r'--", {"resolvers": "flat"}, 400, 905, "realm name"),
        ("POST", "/realm/" + "r" * 130, {"resolvers": "flat"}, 400, 905, "'realm'"),
        ("DELETE", "/realm/nope", {}, 404, 601, "nope"),
        ("POST", "/defaultrealm/nope", {}, 404, 601, "nope"),
    ],
)
def test_bad_realm_input_changes_nothing(
    client: TestClient,
    admin_headers: dict[str, str],
    two_resolvers: None,
    method: str,
    path: str,
    params: dict[str, object],
    status: int,
    code: int,
    contains: str,
) -> None:
    ok(client.post("/realm/existing", data={"resolvers": "sql"}, headers=admin_headers))
    before = config_state(client, admin_headers)
    response = client.request(method, path, json=params or None, headers=admin_headers)
    error(response, status, code, contains)
    assert config_state(client, admin_headers) == before


def test_realm_endpoints_need_an_admin(client: TestClient, flatfile_realm: str) -> None:
    from tests.conftest import user_headers

    headers = user_headers(client, "alice")
    for method, path in [
        ("GET", "/realm/"),
        ("POST", "/realm/x"),
        ("DELETE", "/realm/realm1"),
        ("GET", "/defaultrealm"),
        ("POST", "/defaultrealm/realm1"),
        ("DELETE", "/defaultrealm"),
    ]:
        error(client.request(method, path, headers=headers), 401, 4306)
