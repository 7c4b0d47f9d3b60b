"""The Token handler's ``attach application``: a definition on token_init attaches new
tokens through the use case of ``POST /machine/token``, with its checks."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests import factories
from tests.machines import keys
from tests.machines.conftest import links
from tests.tokens.helpers import RFC_KEY_HEX, hotp

H = dict[str, str]


def _definition(**options: Any) -> dict[str, Any]:
    return {
        "name": "attach", "event": "token_init", "handlermodule": "Token",
        "action": "attach application", "position": "post", "options": options,
    }  # fmt: skip


def test_new_ssh_keys_are_attached_to_a_service(client: TestClient, admin_headers: H) -> None:
    factories.ok_value(client.post("/serviceid/git", headers=admin_headers))
    factories.define(
        client, admin_headers, **_definition(application="ssh", service_id="git", user="git"),
        conditions={"tokentype": "sshkey"},
    )  # fmt: skip
    serial = factories.enrol(client, admin_headers, "sshkey", sshkey=keys.ED25519)["serial"]
    factories.enrol(client, admin_headers, "hotp", genkey="1")  # the condition leaves it out
    [link] = links(client, admin_headers)
    assert (link["serial"], link["application"], link["options"]) == (
        serial,
        "ssh",
        {"service_id": "git", "user": "git"},
    )
    value = factories.ok_value(client.get(
        "/machine/authitem/ssh", params={"service_id": "git", "user": "git"},
        headers=admin_headers,
    ))  # fmt: skip
    assert value == {"ssh": [{"sshkey": keys.ED25519, "username": "git"}]}


def test_new_hotp_tokens_go_offline_on_a_host(
    client: TestClient, admin_headers: H, flatfile_realm: str, hosts_resolver: str
) -> None:
    factories.define(
        client, admin_headers, **_definition(
            application="offline", count="2", rounds="1000", **{"machine ID": "10.0.0.6"},
            resolver="net",
        ),
    )  # fmt: skip
    serial = factories.enrol(
        client, admin_headers, "hotp", otpkey=RFC_KEY_HEX, pin="1234", user="alice",
        realm=flatfile_realm,
    )["serial"]  # fmt: skip
    [link] = links(client, admin_headers, serial=serial)
    assert (link["machine_id"], link["resolver"], link["hostname"]) == (
        "10.0.0.6",
        "net",
        "db1.example.org",
    )
    assert link["options"] == {"count": "2", "rounds": "1000"}
    value = factories.ok_value(client.get(
        "/machine/authitem/offline", params={"hostname": "db1.example.org"},
        headers=admin_headers,
    ))  # fmt: skip
    assert sorted(value["offline"][0]["response"]) == ["0", "1"]
    body = client.post("/validate/check", data={"user": "alice", "pass": "1234" + hotp(1)}).json()
    assert body["result"]["value"] is False  # handed out offline


def test_bad_definitions_are_refused(client: TestClient, admin_headers: H) -> None:
    factories.ok_value(client.post("/serviceid/git", headers=admin_headers))
    for options in (
        {"application": "nosuchapp", "service_id": "git"},
        {"application": "ssh"},  # neither service id nor machine
        {"application": "ssh", "service_id": "nope"},
        {"application": "ssh", "service_id": "git", "count": "5"},  # not ssh's
        {"application": "offline", "rounds": "10"},
        {"application": "offline", "count": "lots"},
        {"application": "offline", "machine ID": "10.0.0.6"},  # without its resolver
        {"application": "offline", "machine ID": "1", "resolver": "nope"},
        {"application": "offline", "hostname": "a", "machine ID": "1", "resolver": "r"},
        {"application": "ssh", "service_id": "git", "user": "two words"},
        {"application": "ssh", "service_id": "git", "bogus": "1"},
    ):
        response = factories.save_definition(client, admin_headers, **_definition(**options))
        assert response.status_code == 400, (options, response.text)
    assert factories.definitions(client, admin_headers) == []


def test_an_attachment_that_fails_leaves_the_enrolment(
    client: TestClient, admin_headers: H, hosts_resolver: str
) -> None:
    factories.define(
        client, admin_headers, **_definition(application="ssh", hostname="nohost.example.org")
    )
    serial = factories.enrol(client, admin_headers, "sshkey", sshkey=keys.RSA)["serial"]
    assert factories.token_of(client, admin_headers, serial)["tokentype"] == "sshkey"
    assert links(client, admin_headers) == []
    # a HOTP token cannot serve ssh: the same check as POST /machine/token
    factories.enrol(client, admin_headers, "hotp", genkey="1")
    assert links(client, admin_headers) == []
