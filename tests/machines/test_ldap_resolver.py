"""The ldap machine resolver against the test slapd: computer objects (here
``device`` entries of the cosine schema, cn = hostname, description = address) become
machines; tokens attach to them; a directory that cannot be read is a 400."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ldap3 import Connection, Server
from starlette.testclient import TestClient

from tests import factories
from tests.machines import keys
from tests.machines.conftest import attach, refused
from tests.users.ldap.slapd import READER_DN, READER_PW, ROOT_DN, ROOT_PW, SUFFIX, Slapd

H = dict[str, str]
BASE = f"ou=machines,{SUFFIX}"
HOSTS = {"ws1.example.org": "192.0.2.11", "ws2.example.org": "192.0.2.12"}


@pytest.fixture(scope="module")
def computers(slapd: Slapd) -> Iterator[str]:
    conn = Connection(Server(slapd.ldap_uri), ROOT_DN, ROOT_PW, auto_bind=True)
    conn.add(BASE, "organizationalUnit", {"ou": "machines"})
    for hostname, ip in HOSTS.items():
        conn.add(f"cn={hostname},{BASE}", "device", {"cn": hostname, "description": ip})
    yield BASE
    for hostname in HOSTS:
        conn.delete(f"cn={hostname},{BASE}")
    conn.delete(BASE)
    conn.unbind()


def _options(slapd: Slapd, **overrides: Any) -> dict[str, Any]:
    options = {
        "type": "ldap", "LDAPURI": slapd.ldap_uri, "LDAPBASE": BASE, "BINDDN": READER_DN,
        "BINDPW": READER_PW, "SEARCHFILTER": "(objectClass=device)",
        "HOSTNAMEATTRIBUTE": "cn", "IPATTRIBUTE": "description", "IDATTRIBUTE": "DN",
        "TIMEOUT": "3",
    }  # fmt: skip
    options.update(overrides)
    return options


def test_computer_objects_are_machines(
    client: TestClient,
    admin_headers: H,
    slapd: Slapd,
    computers: str,
) -> None:
    test = client.post("/machineresolver/test", data=_options(slapd), headers=admin_headers)
    assert factories.ok_value(test) is True, test.text
    factories.ok_value(
        client.post("/machineresolver/ad", data=_options(slapd), headers=admin_headers)
    )
    stored = factories.ok_value(client.get("/machineresolver/ad", headers=admin_headers))["ad"]
    assert stored["data"]["BINDPW"] == "__CENSORED__"
    machines = factories.ok_value(client.get("/machine/", headers=admin_headers))
    assert [(m["hostname"], m["ip"], m["id"]) for m in machines] == [
        (host, ip, f"cn={host},{BASE}") for host, ip in HOSTS.items()
    ]
    found = factories.ok_value(
        client.get("/machine/", params={"hostname": "ws2.example.org"}, headers=admin_headers)
    )
    assert [m["ip"] for m in found] == ["192.0.2.12"]
    # an update with the censored password keeps it
    update = _options(slapd, BINDPW="__CENSORED__", TIMEOUT="4")
    factories.ok_value(client.post("/machineresolver/ad", data=update, headers=admin_headers))
    serial = factories.enrol(client, admin_headers, "sshkey", sshkey=keys.ED25519)["serial"]
    attach(client, admin_headers, serial=serial, application="ssh", hostname="ws1.example.org",
           user="admin")  # fmt: skip
    value = factories.ok_value(client.get(
        "/machine/authitem/ssh", params={"hostname": "ws1.example.org", "user": "admin"},
        headers=admin_headers,
    ))  # fmt: skip
    assert value == {"ssh": [{"sshkey": keys.ED25519, "username": "admin"}]}


def test_a_directory_that_cannot_be_read_is_a_400(
    client: TestClient,
    admin_headers: H,
    slapd: Slapd,
    computers: str,
) -> None:
    for overrides in (
        {"BINDPW": "wrong"},
        {"LDAPURI": "ldap://127.0.0.1:9", "TIMEOUT": "1"},
        {"LDAPURI": "ftp://127.0.0.1"},
        {"SEARCHFILTER": "objectClass=device"},
    ):
        data = _options(slapd, **overrides)
        refused(client.post("/machineresolver/test", data=data, headers=admin_headers))
    # TLS: verified against the test CA, refused without it
    ldaps = _options(slapd, LDAPURI=slapd.ldaps_uri)
    refused(client.post("/machineresolver/test", data=ldaps, headers=admin_headers))
    ldaps["TLS_CA_FILE"] = str(slapd.pki.ca_file)
    factories.ok_value(client.post("/machineresolver/test", data=ldaps, headers=admin_headers))
    factories.ok_value(
        client.post("/machineresolver/ad", data=_options(slapd), headers=admin_headers)
    )
    factories.ok_value(client.post(
        "/machineresolver/ad", data=_options(slapd, BINDPW="wrong"), headers=admin_headers
    ))  # fmt: skip  # stored: verify_config reads no directory
    body = refused(client.get("/machine/", headers=admin_headers))
    assert "wrong" not in body["result"]["error"]["message"]
