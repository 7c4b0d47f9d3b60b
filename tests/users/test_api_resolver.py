"""/resolver: create, read (censored), update, test, delete, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.users.models import ResolverConfig
from tests.users.conftest import SQL_MAP, SqlUserDb
from tests.users.helpers import config_state, error, ok


def test_flatfile_resolver_round_trip(
    client: TestClient, admin_headers: dict[str, str], passwd_file: Path
) -> None:
    rid = ok(
        client.post(
            "/resolver/flat1",
            data={"type": "passwdresolver", "fileName": str(passwd_file)},
            headers=admin_headers,
        )
    )
    assert isinstance(rid, int)
    listed = ok(client.get("/resolver/", headers=admin_headers))
    assert listed == {
        "flat1": {
            "resolvername": "flat1",
            "type": "passwdresolver",
            "censor_keys": [],
            "data": {"fileName": str(passwd_file)},
        }
    }
    assert ok(client.get("/resolver/flat1", headers=admin_headers)) == listed
    assert ok(client.get("/resolver/", params={"type": "sqlresolver"}, headers=admin_headers)) == {}
    assert ok(client.delete("/resolver/flat1", headers=admin_headers)) is True
    assert ok(client.get("/resolver/", headers=admin_headers)) == {}


def test_sql_password_is_encrypted_censored_and_kept(
    client: TestClient, admin_headers: dict[str, str], services: Services, sqlite_userdb: SqlUserDb
) -> None:
    params = {
        "type": "sqlresolver",
        **sqlite_userdb.options(Password="s3cret-pw"),
        "Map": json.dumps(SQL_MAP),
    }
    ok(client.post("/resolver/sql1", json=params, headers=admin_headers))
    described = ok(client.get("/resolver/sql1", headers=admin_headers))["sql1"]
    assert described["censor_keys"] == ["Password"]
    assert described["data"]["Password"] == "__CENSORED__"
    assert json.loads(described["data"]["Map"]) == SQL_MAP
    with services.sessions() as session:
        stored = session.query(ResolverConfig).filter_by(name="sql1").one().config
    assert "s3cret-pw" not in stored
    assert json.loads(stored)["Password"].startswith("v1:")

    # Sending the censored value back keeps the secret; other options change.
    ok(
        client.post(
            "/resolver/sql1",
            json={**described["data"], "type": "sqlresolver", "Limit": 7},
            headers=admin_headers,
        )
    )
    with services.sessions() as session:
        row = session.query(ResolverConfig).filter_by(name="sql1").one()
        plain = services.users.resolvers.plaintext(row)
    assert plain["Password"] == "s3cret-pw"
    assert plain["Limit"] == 7


def test_censored_secret_on_create_is_refused(
    client: TestClient, admin_headers: dict[str, str], sqlite_userdb: SqlUserDb
) -> None:
    before = config_state(client, admin_headers)
    params = {"type": "sqlresolver", **sqlite_userdb.options(Password="__CENSORED__")}
    error(client.post("/resolver/sql1", json=params, headers=admin_headers), 400, 905, "Password")
    assert config_state(client, admin_headers) == before


def test_resolver_test_endpoint(
    client: TestClient, admin_headers: dict[str, str], passwd_file: Path, sqlite_userdb: SqlUserDb
) -> None:
    good = client.post(
        "/resolver/test",
        data={"type": "passwdresolver", "fileName": str(passwd_file)},
        headers=admin_headers,
    )
    assert ok(good) is True
    assert "3 users" in good.json()["detail"]["description"]

    sql = client.post(
        "/resolver/test",
        json={"type": "sqlresolver", **sqlite_userdb.options()},
        headers=admin_headers,
    )
    assert ok(sql) is True

    missing_table = client.post(
        "/resolver/test",
        json={"type": "sqlresolver", **sqlite_userdb.options(Table="nope")},
        headers=admin_headers,
    )
    assert ok(missing_table) is False
    assert "'nope' not found" in missing_table.json()["detail"]["description"]

    bad_column = {**SQL_MAP, "email": "no_such_column"}
    wrong_map = client.post(
        "/resolver/test",
        json={"type": "sqlresolver", **sqlite_userdb.options(Map=bad_column)},
        headers=admin_headers,
    )
    assert ok(wrong_map) is False
    assert "no_such_column" in wrong_map.json()["detail"]["description"]
    # Testing saves nothing.
    assert ok(client.get("/resolver/", headers=admin_headers)) == {}


def test_type_cannot_change(
    client: TestClient, admin_headers: dict[str, str], passwd_file: Path, sqlite_userdb: SqlUserDb
) -> None:
    ok(
        client.post(
            "/resolver/r1",
            data={"type": "passwdresolver", "fileName": str(passwd_file)},
            headers=admin_headers,
        )
    )
    before = config_state(client, admin_headers)
    params = {"type": "sqlresolver", **sqlite_userdb.options()}
    error(
        client.post("/resolver/r1", json=params, headers=admin_headers),
        400,
        905,
        "cannot be changed",
    )
    assert config_state(client, admin_headers) == before


def test_delete_refused_while_in_a_realm(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    before = config_state(client, admin_headers)
    error(client.delete("/resolver/resolver1", headers=admin_headers), 400, 907, "realm1")
    assert config_state(client, admin_headers) == before


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "contains"),
    [
        ("/resolver/r1", {}, 400, 905, "'type'"),
        ("/resolver/r1", {"type": "ldapish"}, 400, 905, "Unknown resolver type"),
        ("/resolver/r1", {"type": "passwdresolver"}, 400, 905, "'fileName'"),
        (
            "/resolver/r1",
            {"type": "passwdresolver", "fileName": "relative.txt"},
            400,
            905,
            "'fileName'",
        ),
        (
            "/resolver/r1",
            {"type": "passwdresolver", "fileName": "/no/such/file"},
            400,
            905,
            "'fileName'",
        ),
        (
            "/resolver/r1",
            {"type": "passwdresolver", "fileName": "/etc/passwd", "bogus": "1"},
            400,
            905,
            "'bogus'",
        ),
        (
            "/resolver/r1",
            {"type": "passwdresolver", "fileName": "/" + "a" * 5000},
            400,
            905,
            "'fileName'",
        ),
        ("/resolver/r1", {"type": "x" * 100}, 400, 905, "'type'"),
        (
            "/resolver/bad%20name",
            {"type": "passwdresolver", "fileName": "/etc/passwd"},
            400,
            905,
            "resolver name",
        ),
        (
            "/resolver/a'b;--",
            {"type": "passwdresolver", "fileName": "/etc/passwd"},
            400,
            905,
            "resolver name",
        ),
        (
            "/resolver/" + "r" * 200,
            {"type": "passwdresolver", "fileName": "/etc/passwd"},
            400,
            905,
            "'resolver'",
        ),
        (
            "/resolver/s",
            {"type": "sqlresolver", "Table": "t", "Map": "{not json"},
            400,
            905,
            "'Map'",
        ),
        (
            "/resolver/s",
            {"type": "sqlresolver", "Table": "t", "Map": '{"username": "u"}', "URL": "sqlite://"},
            400,
            905,
            "'Map'",
        ),
        (
            "/resolver/s",
            {
                "type": "sqlresolver",
                "Table": "t",
                "Map": '{"userid": "i", "username": "u", "shoe": "s"}',
                "URL": "sqlite://",
            },
            400,
            905,
            "'Map'",
        ),
        (
            "/resolver/s",
            {
                "type": "sqlresolver",
                "Table": "t; DROP TABLE x",
                "Map": '{"userid": "i", "username": "u"}',
                "URL": "sqlite://",
            },
            400,
            905,
            "'Table'",
        ),
        (
            "/resolver/s",
            {"type": "sqlresolver", "Table": "t", "Map": '{"userid": "i", "username": "u"}'},
            400,
            905,
            "URL or Driver",
        ),
        (
            "/resolver/s",
            {
                "type": "sqlresolver",
                "Table": "t",
                "Map": '{"userid": "i", "username": "u"}',
                "URL": "::::",
            },
            400,
            905,
            "SQLAlchemy URL",
        ),
        (
            "/resolver/s",
            {
                "type": "sqlresolver",
                "Table": "t",
                "Map": '{"userid": "i", "username": "u"}',
                "URL": "postgresql://a:pw@h/db",
            },
            400,
            905,
            "password",
        ),
        (
            "/resolver/s",
            {
                "type": "sqlresolver",
                "Table": "t",
                "Map": '{"userid": "i", "username": "u"}',
                "URL": "sqlite://",
                "Where": "DROP TABLE people",
            },
            400,
            905,
            "'Where'",
        ),
        (
            "/resolver/s",
            {
                "type": "sqlresolver",
                "Table": "t",
                "Map": '{"userid": "i", "username": "u"}',
                "URL": "sqlite://",
                "Port": "abc",
            },
            400,
            905,
            "'Port'",
        ),
        ("/resolver/test", {}, 400, 905, "'type'"),
        ("/resolver/test", {"type": "passwdresolver"}, 400, 905, "'fileName'"),
    ],
)
def test_bad_resolver_input_changes_nothing(
    client: TestClient,
    admin_headers: dict[str, str],
    path: str,
    params: dict[str, str],
    status: int,
    code: int,
    contains: str,
) -> None:
    before = config_state(client, admin_headers)
    error(client.post(path, json=params, headers=admin_headers), status, code, contains)
    assert config_state(client, admin_headers) == before


def test_unknown_resolver_is_404(client: TestClient, admin_headers: dict[str, str]) -> None:
    error(client.get("/resolver/nope", headers=admin_headers), 404, 601, "nope")
    error(client.delete("/resolver/nope", headers=admin_headers), 404, 601, "nope")


def test_resolver_endpoints_need_an_admin(client: TestClient, flatfile_realm: str) -> None:
    from tests.conftest import user_headers

    headers = user_headers(client, "alice")
    before = client.get("/resolver/", headers=headers)
    assert before.status_code == 401
    error(
        client.post(
            "/resolver/x",
            data={"type": "passwdresolver", "fileName": "/etc/passwd"},
            headers=headers,
        ),
        401,
        4306,
    )
    error(client.delete("/resolver/resolver1", headers=headers), 401, 4306)
    error(client.get("/resolver/"), 401, 4033)
