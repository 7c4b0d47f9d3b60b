"""The ssh application as privacyidea-authorizedkeys uses it: an SSH server fetches
the keys attached to its service id (or its hostname) for the account logging in."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests import factories
from tests.machines import keys
from tests.machines.conftest import attach, links, refused

H = dict[str, str]


def _keys(client: TestClient, headers: H, **params: str) -> list[dict[str, str]]:
    value = factories.ok_value(client.get("/machine/authitem/ssh", params=params, headers=headers))
    items: list[dict[str, str]] = value["ssh"]
    return items


def test_authorized_keys_of_a_service_and_a_user(client: TestClient, admin_headers: H) -> None:
    factories.ok_value(
        client.post("/serviceid/webservers", data={"description": "web"}, headers=admin_headers)
    )
    alice = factories.enrol(client, admin_headers, "sshkey", sshkey=keys.ED25519)["serial"]
    root = factories.enrol(client, admin_headers, "sshkey", sshkey=keys.RSA)["serial"]
    off = factories.enrol(client, admin_headers, "sshkey", sshkey=keys.ECDSA)["serial"]
    attach(client, admin_headers, serial=alice, application="ssh", service_id="webservers",
           user="alice")  # fmt: skip
    attach(client, admin_headers, serial=root, application="ssh", service_id="webservers")
    attach(client, admin_headers, serial=off, application="ssh", service_id="webservers",
           user="alice")  # fmt: skip
    factories.ok_value(client.post(f"/token/disable/{off}", headers=admin_headers))

    assert _keys(client, admin_headers, service_id="webservers", user="alice") == [
        {"sshkey": keys.ED25519, "username": "alice"}
    ]
    assert _keys(client, admin_headers, service_id="webservers", user="root") == [
        {"sshkey": keys.RSA, "username": "root"}  # no user option: root, as privacyIDEA
    ]
    assert len(_keys(client, admin_headers, service_id="webservers")) == 2
    listed = links(client, admin_headers, application="ssh", serial=alice)
    assert [(link["serial"], link["options"]) for link in listed] == [
        (alice, {"service_id": "webservers", "user": "alice"})
    ]
    # the service id is in use; the key is revoked (excluded) and detached by its link id
    refused(client.delete("/serviceid/webservers", headers=admin_headers))
    factories.ok_value(client.post(f"/token/revoke/{alice}", headers=admin_headers))
    assert _keys(client, admin_headers, service_id="webservers", user="alice") == []
    mtid = listed[0]["id"]
    path = f"/machine/token/{alice}/ssh/{mtid}"
    assert factories.ok_value(client.delete(path, headers=admin_headers)) == 1
    assert links(client, admin_headers, serial=alice) == []


def test_keys_attached_to_a_host(client: TestClient, admin_headers: H, hosts_resolver: str) -> None:
    serial = factories.enrol(client, admin_headers, "sshkey", sshkey=keys.SK_ED25519)["serial"]
    attach(client, admin_headers, serial=serial, application="ssh", hostname="web1.example.org",
           user="deploy")  # fmt: skip
    assert _keys(client, admin_headers, hostname="web1.example.org", user="deploy") == [
        {"sshkey": keys.SK_ED25519, "username": "deploy"}
    ]
    assert _keys(client, admin_headers, hostname="db1.example.org", user="deploy") == []
    everything = factories.ok_value(
        client.get("/machine/authitem", params={"hostname": "web1.example.org"},
                   headers=admin_headers)
    )  # fmt: skip
    assert everything == {
        "ssh": [{"sshkey": keys.SK_ED25519, "username": "deploy"}], "offline": [], "luks": []
    }  # fmt: skip
    [link] = links(client, admin_headers, hostname="web1.example.org")
    assert (link["machine_id"], link["resolver"], link["hostname"]) == (
        "10.0.0.5",
        "net",
        "web1.example.org",
    )
    # options change and go; the link is detached by machine id and resolver
    factories.ok_value(client.post(
        "/machine/tokenoption", headers=admin_headers,
        data={"serial": serial, "application": "ssh", "hostname": "web1.example.org",
              "user": "admin"},
    ))  # fmt: skip
    assert _keys(client, admin_headers, hostname="web1.example.org", user="admin") != []
    path = f"/machine/token/{serial}/10.0.0.5/net/ssh"
    assert factories.ok_value(client.delete(path, headers=admin_headers)) == 1
    assert _keys(client, admin_headers, hostname="web1.example.org", user="admin") == []


def test_bad_attachments_are_refused_and_change_nothing(
    client: TestClient, admin_headers: H, hosts_resolver: str, flatfile_realm: str
) -> None:
    ssh = factories.enrol(client, admin_headers, "sshkey", sshkey=keys.ED25519)["serial"]
    hotp = factories.enrol(client, admin_headers, "hotp", genkey="1")["serial"]
    host = {"hostname": "web1.example.org"}
    for data, status in (
        ({"serial": ssh, "application": "nosuchapp", **host}, 400),
        ({"serial": hotp, "application": "ssh", **host}, 400),  # not an SSH key
        ({"serial": ssh, "application": "offline"}, 400),  # not HOTP
        ({"serial": "NOSUCH", "application": "ssh", **host}, 404),
        ({"serial": ssh, "application": "ssh", "hostname": "nohost.example.org"}, 404),
        ({"serial": ssh, "application": "ssh", "machineid": "10.0.0.5"}, 400),  # no resolver
        ({"serial": ssh, "application": "ssh", "machineid": "1.2.3.4", "resolver": "net"}, 404),
        ({"serial": ssh, "application": "ssh"}, 400),  # neither host nor service id
        ({"serial": ssh, "application": "ssh", "service_id": "nope"}, 404),
        ({"serial": ssh, "application": "ssh", "user": "a b", **host}, 400),
        ({"serial": hotp, "application": "offline", "count": "many"}, 400),
        ({"serial": hotp, "application": "offline", "count": "0"}, 400),
    ):
        refused(client.post("/machine/token", data=data, headers=admin_headers), status)
    assert links(client, admin_headers) == []
    refused(client.get("/machine/authitem/nosuchapp", params=host, headers=admin_headers))
    refused(client.get("/machine/authitem/ssh", headers=admin_headers))
    refused(client.get("/machine/authitem/ssh", params={"hostname": "nohost"},
                       headers=admin_headers), 404)  # fmt: skip
    attach(client, admin_headers, serial=ssh, application="ssh", **host)
    refused(client.post("/machine/token", data={"serial": ssh, "application": "ssh", **host},
                        headers=admin_headers))  # fmt: skip
    refused(client.delete(f"/machine/token/{ssh}/10.0.0.6/net/ssh", headers=admin_headers), 404)
    refused(client.delete("/machineresolver/net", headers=admin_headers))  # still used
    assert len(links(client, admin_headers)) == 1
    factories.ok_value(client.delete(f"/token/{ssh}", headers=admin_headers))
    assert links(client, admin_headers) == []  # a deleted token's links go with it
    factories.ok_value(client.delete("/machineresolver/net", headers=admin_headers))
