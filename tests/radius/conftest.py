from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.radius.freeradius import SECRET, FreeRadius, running

H = dict[str, str]


@pytest.fixture(scope="session")
def freeradius() -> FreeRadius:
    return running()


def add_radius_server(
    client: TestClient, headers: H, identifier: str, port: int, **extra: Any
) -> None:
    data = {"server": "127.0.0.1", "port": port, "secret": SECRET, "timeout": 2, "retries": 1}
    response = client.post(f"/radiusserver/{identifier}", data={**data, **extra}, headers=headers)
    assert response.status_code == 200, response.text
