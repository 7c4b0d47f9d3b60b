"""Fixtures of the machine tests: a hosts machine resolver and helpers that drive the
API as privacyIDEA's clients do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests import factories
from tests.users.conftest import slapd  # noqa: F401  (the session's throw-away slapd)

H = dict[str, str]

HOSTS = """\
# the test network
10.0.0.5    web1.example.org web1
10.0.0.6    db1.example.org
not-an-ip   broken.example.org
10.0.0.7
"""


@pytest.fixture
def hosts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hosts"
    path.write_text(HOSTS)
    return path


@pytest.fixture
def hosts_resolver(client: TestClient, admin_headers: H, hosts_file: Path) -> str:
    data = {"type": "hosts", "filename": str(hosts_file)}
    factories.ok_value(client.post("/machineresolver/net", data=data, headers=admin_headers))
    return "net"


def attach(client: TestClient, headers: H, **params: Any) -> int:
    value: int = factories.ok_value(client.post("/machine/token", data=params, headers=headers))
    return value


def links(client: TestClient, headers: H, **filters: Any) -> list[dict[str, Any]]:
    value: list[dict[str, Any]] = factories.ok_value(
        client.get("/machine/token", params=filters, headers=headers)
    )
    return value


def refused(response: Any, status: int = 400) -> dict[str, Any]:
    """A refusal in privacyIDEA's envelope."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["result"]["status"] is False, body
    return body
