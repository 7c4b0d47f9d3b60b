"""Fixtures for the policy tests: a second realm, a help-desk admin, policies via the API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from factorflow.api.routing import RouteSpec
from factorflow.bootstrap import Services
from tests.conftest import bearer
from tests.factories import passwd_line

SetPolicy = Callable[..., Any]
HELPDESK = ("helpdesk", "helpdesk-pass-1")
REALM_B_PASSWORDS = {"dave": "dave-pass-1", "erin": "erin-pass-1"}


def policy_data(fields: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, dict | list) and key in ("action", "conditions"):
            data[key] = json.dumps(value)
        elif isinstance(value, list):
            data[key] = ",".join(value)
        else:
            data[key] = value
    return data


@pytest.fixture
def set_policy(client: TestClient, admin_headers: dict[str, str]) -> SetPolicy:
    """POST /policy/<name>; asserts success and returns the policy id."""

    def make(name: str, **fields: Any) -> int:
        response = client.post(f"/policy/{name}", data=policy_data(fields), headers=admin_headers)
        assert response.status_code == 200, response.text
        return int(response.json()["result"]["value"][f"setPolicy {name}"])

    return make


@pytest.fixture
def realm_b(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, tmp_path: Path
) -> str:
    """A second flat-file realm ``realm2`` (users dave and erin) next to ``realm1``."""
    path = tmp_path / "realm2.passwd"
    lines = [
        passwd_line(login, 2000 + i, password, f"{login.title()},,,,{login}@b.example")
        for i, (login, password) in enumerate(REALM_B_PASSWORDS.items())
    ]
    path.write_text("\n".join(lines) + "\n")
    r = client.post(
        "/resolver/resolver2",
        data={"type": "passwdresolver", "fileName": str(path)},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    r = client.post("/realm/realm2", data={"resolvers": "resolver2"}, headers=admin_headers)
    assert r.status_code == 200, r.text
    return "realm2"


@pytest.fixture
def helpdesk_headers(
    services: Services, client: TestClient, admin_headers: dict[str, str]
) -> dict[str, str]:
    with services.sessions.begin() as session:
        services.admins.add(session, *HELPDESK)
    response = client.post("/auth", data={"username": HELPDESK[0], "password": HELPDESK[1]})
    assert response.status_code == 200, response.text
    return bearer(response.json()["result"]["value"]["token"])


def route_params(spec: RouteSpec) -> set[str]:
    """The parameters a route declares: its model's fields (by alias) and path variables."""
    found = {f.alias or name for name, f in spec.endpoint.params.model_fields.items()}
    for path in spec.paths:
        found |= set(re.findall(r"{(\w+)}", path))
    return found
