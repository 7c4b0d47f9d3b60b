"""/machineresolver/ with hosts files: write, list, test, delete; bad configurations
are a 400 in the envelope and store nothing."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.testclient import TestClient

from tests import factories
from tests.machines.conftest import refused

H = dict[str, str]


def test_a_hosts_resolver_lists_its_machines(
    client: TestClient, admin_headers: H, hosts_resolver: str, hosts_file: Path
) -> None:
    listed = factories.ok_value(client.get("/machineresolver/", headers=admin_headers))
    assert listed == {
        "net": {"resolvername": "net", "type": "hosts", "data": {"filename": str(hosts_file)}}
    }
    machines = factories.ok_value(client.get("/machine/", headers=admin_headers))
    assert machines == [
        {
            "hostname": "web1.example.org",
            "id": "10.0.0.5",
            "ip": "10.0.0.5",
            "resolver_name": "net",
        },
        {"hostname": "db1.example.org", "id": "10.0.0.6", "ip": "10.0.0.6", "resolver_name": "net"},
    ]
    for params, found in (
        ({"hostname": "WEB1.example.org"}, ["10.0.0.5"]),
        ({"hostname": "web1"}, ["10.0.0.5"]),  # an alias
        ({"ip": "10.0.0.6"}, ["10.0.0.6"]),
        ({"id": "10.0.0.5", "resolver": "net"}, ["10.0.0.5"]),
        ({"any": "db1"}, ["10.0.0.6"]),
        ({"hostname": "nohost"}, []),
    ):
        value = factories.ok_value(client.get("/machine/", params=params, headers=admin_headers))
        assert [m["id"] for m in value] == found, params
    test = client.post(
        "/machineresolver/test", data={"type": "hosts", "filename": str(hosts_file)},
        headers=admin_headers,
    )  # fmt: skip
    assert factories.ok_value(test) is True
    assert "2 machines" in test.json()["detail"]["description"]
    hosts_file.write_text(hosts_file.read_text() + "10.0.0.9 new.example.org\n")
    value = factories.ok_value(
        client.get("/machine/", params={"any": "new"}, headers=admin_headers)
    )
    assert [m["hostname"] for m in value] == ["new.example.org"]  # read on every lookup
    factories.ok_value(client.delete("/machineresolver/net", headers=admin_headers))
    assert factories.ok_value(client.get("/machineresolver/", headers=admin_headers)) == {}


def test_bad_configurations_are_refused_and_store_nothing(
    client: TestClient, admin_headers: H, tmp_path: Path
) -> None:
    unreadable = tmp_path / "secret-hosts"
    unreadable.write_text("10.0.0.1 a\n")
    unreadable.chmod(0)
    cases = [
        {"type": "nosuchtype", "filename": "/etc/hosts"},
        {"type": "hosts"},
        {"type": "hosts", "filename": str(tmp_path / "missing")},
        {"type": "hosts", "filename": "relative/hosts"},
        {"type": "hosts", "filename": str(tmp_path)},  # a directory
        {"type": "hosts", "filename": "/etc/hosts", "Bogus": "1"},
        {
            "type": "ldap",
            "LDAPURI": "ldap://127.0.0.1",
            "LDAPBASE": "dc=x",
            "SEARCHFILTER": "objectClass=computer",
        },
    ]
    if os.geteuid() != 0:  # root reads any file
        cases.append({"type": "hosts", "filename": str(unreadable)})
    for data in cases:
        refused(client.post("/machineresolver/bad", data=data, headers=admin_headers))
        refused(client.post("/machineresolver/test", data=data, headers=admin_headers))
    refused(client.post("/machineresolver/bad name", data=cases[1], headers=admin_headers))
    assert factories.ok_value(client.get("/machineresolver/", headers=admin_headers)) == {}
    refused(client.delete("/machineresolver/nope", headers=admin_headers), 404)


def test_a_hosts_file_that_disappears_is_a_400(
    client: TestClient, admin_headers: H, hosts_resolver: str, hosts_file: Path
) -> None:
    hosts_file.unlink()
    body = refused(client.get("/machine/", headers=admin_headers))
    assert "cannot read the hosts file" in body["result"]["error"]["message"]
