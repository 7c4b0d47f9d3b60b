"""The worked example of docs/plugins/machine-resolvers.md, installed as a
distribution with an entry point and run through the API."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from factorflow.api.app import create_app
from factorflow.bootstrap import Services, build_services
from factorflow.settings import Settings
from tests import factories
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD, bearer
from tests.machines import keys
from tests.plugins import Plugin, doc_example, install

STATIC = Plugin(
    "acme_static",
    doc_example("machine-resolvers.md"),
    "factorflow.machine_resolvers",
    {"static": "acme_static:StaticMachineResolver"},
)


def test_the_documented_resolver_installs_and_runs(
    plugin_site: Path, settings: Settings, services: Services
) -> None:
    install(plugin_site, STATIC)
    built = build_services(settings, migrate=False)
    try:
        assert "static" in built.machine_resolvers
        with TestClient(create_app(built), raise_server_exceptions=False) as client:
            with built.sessions.begin() as session:
                built.admins.add(session, ADMIN_NAME, ADMIN_PASSWORD)
            token = client.post("/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
            headers = bearer(token.json()["result"]["value"]["token"])
            data = {"type": "static", "MACHINES": "build1=10.1.0.1,build2=10.1.0.2"}
            factories.ok_value(client.post("/machineresolver/lab", data=data, headers=headers))
            found = factories.ok_value(
                client.get("/machine/", params={"hostname": "build2"}, headers=headers)
            )
            assert found == [
                {"hostname": "build2", "id": "build2", "ip": "10.1.0.2", "resolver_name": "lab"}
            ]
            bad = client.post("/machineresolver/bad", headers=headers,
                              data={"type": "static", "MACHINES": "=10.0.0.1"})  # fmt: skip
            assert bad.status_code == 400, bad.text
            serial = factories.enrol(client, headers, "sshkey", sshkey=keys.ED25519)["serial"]
            factories.ok_value(client.post("/machine/token", headers=headers, data={
                "serial": serial, "application": "ssh", "hostname": "build1"}))  # fmt: skip
            items = factories.ok_value(client.get(
                "/machine/authitem/ssh", params={"hostname": "build1"}, headers=headers))  # fmt: skip
            assert items == {"ssh": [{"sshkey": keys.ED25519, "username": "root"}]}
    finally:
        built.close()
