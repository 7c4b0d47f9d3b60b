"""/privacyideaserver/: the remote servers the Federation handler forwards to."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.federation.models import RemoteServer
from tests.federation.conftest import H, add_server, define_forward
from tests.federation.remote import REMOTE_REALM, RemoteFactorflow
from tests.notify.servers import free_port
from tests.tokens.helpers import assert_error, ok


def stored(services: Services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(RemoteServer)) or 0


def test_create_list_update_delete(client: TestClient, admin_headers: H) -> None:
    add_server(client, admin_headers, "child1", "https://child.example.org/pi/",
               description="the child")  # fmt: skip
    listing = ok(client.get("/privacyideaserver/", headers=admin_headers))["result"]["value"]
    assert list(listing) == ["child1"]
    child = listing["child1"]
    assert child["url"] == "https://child.example.org/pi"
    assert child["tls"] is True  # privacyIDEA's default: verify the certificate
    assert child["timeout"] == 10.0
    assert child["description"] == "the child"
    add_server(client, admin_headers, "child1", "http://127.0.0.1:8080", tls="0", timeout="2.5")
    one = ok(client.get("/privacyideaserver/child1", headers=admin_headers))["result"]["value"]
    assert one["child1"]["url"] == "http://127.0.0.1:8080"
    assert one["child1"]["tls"] is False
    assert one["child1"]["timeout"] == 2.5
    assert one["child1"]["description"] == ""
    ok(client.delete("/privacyideaserver/child1", headers=admin_headers))
    assert ok(client.get("/privacyideaserver/", headers=admin_headers))["result"]["value"] == {}


@pytest.mark.parametrize(
    ("identifier", "data", "field"),
    [
        ("s1", {}, "url"),
        ("s1", {"url": ""}, "url"),
        ("s1", {"url": "not a url"}, "url"),
        ("s1", {"url": "ftp://files.example.org"}, "url"),
        ("s1", {"url": "http://"}, "url"),
        ("s1", {"url": "https://admin:secret@child.example.org"}, "url"),
        ("s1", {"url": "https://child.example.org/?x=1"}, "url"),
        ("s1", {"url": "https://child.example.org", "tls": "maybe"}, "tls"),
        ("s1", {"url": "https://child.example.org", "timeout": "-1"}, "timeout"),
        ("s1", {"url": "https://child.example.org", "timeout": "soon"}, "timeout"),
        ("bad name", {"url": "https://child.example.org"}, "identifier"),
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
    response = client.post(f"/privacyideaserver/{identifier}", data=data, headers=admin_headers)
    body = assert_error(response, 400, 905)
    assert repr(field) in body["result"]["error"]["message"]
    assert stored(services) == 0


def test_admins_only(client: TestClient, admin_headers: H) -> None:
    assert_error(client.get("/privacyideaserver/"), 401)
    r = client.post("/privacyideaserver/s1", data={"url": "https://child.example.org"})
    assert_error(r, 401)


def test_unknown_identifier(client: TestClient, admin_headers: H) -> None:
    body = assert_error(client.delete("/privacyideaserver/nope", headers=admin_headers), 404, 601)
    assert "nope" in body["result"]["error"]["message"]
    assert_error(client.get("/privacyideaserver/nope", headers=admin_headers), 404, 601)


def test_a_server_in_use_is_not_deleted(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    add_server(client, admin_headers, "child1", "https://child.example.org")
    define_forward(client, admin_headers, name="ask the child", privacyIDEA="child1")
    body = assert_error(client.delete("/privacyideaserver/child1", headers=admin_headers), 400)
    assert "'ask the child'" in body["result"]["error"]["message"]
    assert stored(services) == 1
    definition = ok(client.get("/event/", headers=admin_headers))["result"]["value"][0]
    ok(client.delete(f"/event/{definition['id']}", headers=admin_headers))
    ok(client.delete("/privacyideaserver/child1", headers=admin_headers))
    assert stored(services) == 0


def test_a_definition_must_name_a_configured_server(client: TestClient, admin_headers: H) -> None:
    body = define_forward(client, admin_headers, expect=400, privacyIDEA="missing")
    assert "privacyIDEA" in body["result"]["error"]["message"]
    assert "missing" in body["result"]["error"]["message"]
    assert ok(client.get("/event/", headers=admin_headers))["result"]["value"] == []


def test_module_metadata(client: TestClient, admin_headers: H) -> None:
    modules = ok(client.get("/event/handlermodules", headers=admin_headers))["result"]["value"]
    assert "Federation" in modules
    positions = ok(client.get("/event/positions/Federation", headers=admin_headers))
    assert positions["result"]["value"] == ["post"]
    defaults = ok(client.get("/event/defaults/Federation", headers=admin_headers))
    assert defaults["result"]["value"]["abort_on_error"] is True
    actions = ok(client.get("/event/actions/Federation", headers=admin_headers))["result"]["value"]
    forward = actions["forward"]
    assert forward["privacyIDEA"]["required"] is True
    assert forward["forward_client_ip"]["type"] == "bool"
    assert set(forward) == {
        "privacyIDEA", "realm", "resolver", "forward_client_ip", "forward_authorization_token",
    }  # fmt: skip
    # A pre definition is refused: Federation answers with the remote's response.
    r = client.post("/event", data={"name": "pre", "event": "validate_check",
                                    "handlermodule": "Federation", "action": "forward",
                                    "position": "pre"}, headers=admin_headers)  # fmt: skip
    assert_error(r, 400)


def test_the_server_option_offers_the_configured_servers(
    client: TestClient, admin_headers: H
) -> None:
    def server_option() -> dict[str, Any]:
        actions = ok(client.get("/event/actions/Federation", headers=admin_headers))
        return dict(actions["result"]["value"]["forward"]["privacyIDEA"])

    assert "value" not in server_option()  # nothing configured yet: a text field
    add_server(client, admin_headers, "child-b", "https://b.example.org")
    add_server(client, admin_headers, "child-a", "https://a.example.org")
    assert server_option()["value"] == ["child-a", "child-b"]
    client.delete("/privacyideaserver/child-b", headers=admin_headers).raise_for_status()
    assert server_option()["value"] == ["child-a"]


# -- test_request ------------------------------------------------------------------------------


def test_test_request_against_a_real_remote(
    client: TestClient, admin_headers: H, services: Services, remote: RemoteFactorflow
) -> None:
    remote.enrol_hotp("dave", pin="")
    add_server(client, admin_headers, "child1", remote.url)
    good = {"identifier": "child1", "user": "dave", "realm": REMOTE_REALM}
    r = client.post("/privacyideaserver/test_request",
                    data={**good, "password": remote.next_otp("dave")}, headers=admin_headers)  # fmt: skip
    body = ok(r)
    assert body["result"]["value"] is True
    assert body["detail"]["origin"] == f"{remote.url}/validate/check"
    r = client.post("/privacyideaserver/test_request",
                    data={**good, "password": "000000"}, headers=admin_headers)  # fmt: skip
    body = ok(r)
    assert body["result"]["value"] is False
    assert "rejected" in body["detail"]["message"]
    # Inline, without a stored server, and with privacyIDEA's parameter name "username".
    r = client.post("/privacyideaserver/test_request",
                    data={"url": remote.url, "username": "dave", "realm": REMOTE_REALM,
                          "password": remote.next_otp("dave")}, headers=admin_headers)  # fmt: skip
    assert ok(r)["result"]["value"] is True
    # The remote's own error (an unknown realm) is a "no", with its message.
    r = client.post("/privacyideaserver/test_request",
                    data={**good, "realm": "nosuchrealm", "password": "x"}, headers=admin_headers)  # fmt: skip
    body = ok(r)
    assert body["result"]["value"] is False
    assert "error" in body["detail"]["message"]


@pytest.mark.parametrize(
    ("data", "status", "text"),
    [
        ({"user": "dave", "password": "pw-secret-1"}, 400, "'identifier' or 'url'"),
        ({"identifier": "nope", "user": "dave", "password": "pw-secret-1"}, 404, "nope"),
        ({"identifier": "child1", "password": "pw-secret-1"}, 400, "'user'"),
        ({"identifier": "child1", "user": "dave"}, 400, "'password'"),
        ({"url": "gopher://x", "user": "dave", "password": "pw-secret-1"}, 400, "'url'"),
        (
            {"identifier": "child1", "user": "dave", "password": "pw-secret-1"},
            400,
            "cannot be reached",
        ),
    ],
)
def test_test_request_failures_are_4xx_without_the_password(
    client: TestClient,
    admin_headers: H,
    services: Services,
    data: dict[str, Any],
    status: int,
    text: str,
) -> None:
    add_server(client, admin_headers, "child1", f"http://127.0.0.1:{free_port()}", timeout="3")
    r = client.post("/privacyideaserver/test_request", data=data, headers=admin_headers)
    body = assert_error(r, status)
    assert text in body["result"]["error"]["message"]
    assert "pw-secret-1" not in r.text
    with services.sessions() as session:
        rows = session.scalars(select(AuditEntry)).all()
        assert rows
        assert not any("pw-secret-1" in str(vars(row)) for row in rows)
    assert stored(services) == 1
