"""/radiusserver/: RADIUS server configurations, with a test request against a real
FreeRADIUS."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.radius.models import RadiusServer
from tests import factories
from tests.radius.conftest import H, add_radius_server
from tests.radius.freeradius import SECRET, USERS, FreeRadius, free_udp_port
from tests.tokens.helpers import assert_error, ok


def stored(services: Services) -> list[RadiusServer]:
    with services.sessions() as session:
        return list(session.scalars(select(RadiusServer)))


def test_create_list_update_delete(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    add_radius_server(client, admin_headers, "rad1", 1812, description="the old OTP server")
    listing = ok(client.get("/radiusserver/", headers=admin_headers))["result"]["value"]
    assert listing == {
        "rad1": {
            "identifier": "rad1", "server": "127.0.0.1", "port": 1812,
            "dictionary": "/etc/privacyidea/dictionary", "description": "the old OTP server",
            "timeout": 2, "retries": 1,
        }
    }  # fmt: skip
    # The secret is encrypted at rest and never listed.
    (row,) = stored(services)
    assert SECRET not in row.secret and row.secret
    assert SECRET not in str(ok(client.get("/radiusserver/rad1", headers=admin_headers)))
    # Updating with the censored secret keeps the stored one.
    add_radius_server(client, admin_headers, "rad1", 1813, secret="__CENSORED__")
    (updated,) = stored(services)
    assert (updated.port, updated.secret) == (1813, row.secret)
    assert services.radius.settings(services.sessions(), "rad1").secret == SECRET
    ok(client.delete("/radiusserver/rad1", headers=admin_headers))
    assert ok(client.get("/radiusserver/", headers=admin_headers))["result"]["value"] == {}
    audited = [(e["action"], e["action_detail"], e["success"])
               for e in factories.audit_entries(client, admin_headers)]  # fmt: skip
    assert ("POST /radiusserver/<identifier>", "identifier=rad1", 1) in audited
    assert ("DELETE /radiusserver/<identifier>", "identifier=rad1", 1) in audited


@pytest.mark.parametrize(
    ("identifier", "data", "field"),
    [
        ("r1", {"secret": "s"}, "server"),
        ("r1", {"server": "127.0.0.1"}, "secret"),
        ("r1", {"server": "127.0.0.1", "secret": ""}, "secret"),
        ("r1", {"server": "127.0.0.1", "secret": "__CENSORED__"}, "secret"),
        ("r1", {"server": "a host", "secret": "s"}, "server"),
        ("r1", {"server": "127.0.0.1", "secret": "s", "port": "0"}, "port"),
        ("r1", {"server": "127.0.0.1", "secret": "s", "port": "radius"}, "port"),
        ("r1", {"server": "127.0.0.1", "secret": "s", "timeout": "0"}, "timeout"),
        ("r1", {"server": "127.0.0.1", "secret": "s", "retries": "many"}, "retries"),
        ("bad name", {"server": "127.0.0.1", "secret": "s"}, "identifier"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    client: TestClient,
    admin_headers: H,
    services: Services,
    identifier: str,
    data: dict[str, Any],
    field: str,
) -> None:
    response = client.post(f"/radiusserver/{identifier}", data=data, headers=admin_headers)
    body = assert_error(response, 400, 905)
    assert repr(field) in body["result"]["error"]["message"]
    assert stored(services) == []


def test_admins_only_and_unknown_identifiers(client: TestClient, admin_headers: H) -> None:
    assert_error(client.get("/radiusserver/"), 401)
    assert_error(client.post("/radiusserver/r1", data={"server": "h", "secret": "s"}), 401)
    body = assert_error(client.delete("/radiusserver/nope", headers=admin_headers), 404, 601)
    assert "nope" in body["result"]["error"]["message"]
    assert_error(client.get("/radiusserver/nope", headers=admin_headers), 404, 601)


def test_the_test_request_asks_the_server(
    client: TestClient, admin_headers: H, freeradius: FreeRadius
) -> None:
    add_radius_server(client, admin_headers, "rad1", freeradius.port)
    good = {"identifier": "rad1", "username": "alice", "password": USERS["alice"]}
    body = ok(client.post("/radiusserver/test_request", data=good, headers=admin_headers))
    assert body["result"]["value"] is True
    assert body["detail"]["reply"] == "Access-Accept"
    bad = {**good, "password": "wrong"}
    body = ok(client.post("/radiusserver/test_request", data=bad, headers=admin_headers))
    assert body["result"]["value"] is False
    assert body["detail"]["reply"] == "Access-Reject"
    # Inline options, as privacyIDEA's dialog sends them, without a stored server.
    inline = {"server": "127.0.0.1", "port": freeradius.port, "secret": SECRET,
              "username": "bob", "password": USERS["bob"]}  # fmt: skip
    body = ok(client.post("/radiusserver/test_request", data=inline, headers=admin_headers))
    assert body["result"]["value"] is True
    entries = factories.audit_entries(client, admin_headers)
    assert USERS["alice"] not in str(entries) and SECRET not in str(entries)


def test_a_server_that_does_not_answer_is_a_4xx_naming_it(
    client: TestClient, admin_headers: H, freeradius: FreeRadius
) -> None:
    silent = free_udp_port()
    add_radius_server(client, admin_headers, "silent", silent, timeout=1)
    add_radius_server(
        client, admin_headers, "wrongsecret", freeradius.port, secret="nope", timeout=1
    )
    for identifier in ("silent", "wrongsecret"):
        data = {"identifier": identifier, "username": "alice", "password": USERS["alice"]}
        response = client.post("/radiusserver/test_request", data=data, headers=admin_headers)
        body = assert_error(response, 400)
        message = body["result"]["error"]["message"]
        assert identifier in message and "no valid answer" in message
        assert USERS["alice"] not in message
    missing = {"identifier": "nope", "username": "alice", "password": "x"}
    assert_error(
        client.post("/radiusserver/test_request", data=missing, headers=admin_headers), 404
    )
    nothing = {"username": "alice", "password": "x"}
    assert_error(
        client.post("/radiusserver/test_request", data=nothing, headers=admin_headers), 400
    )
    no_user = {"identifier": "silent", "password": "x"}
    assert_error(
        client.post("/radiusserver/test_request", data=no_user, headers=admin_headers), 400
    )
