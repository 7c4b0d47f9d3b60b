from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"]["status"] is True, body
    return body["result"]["value"]


def error(response: Any, status: int, code: int | None = None, contains: str = "") -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["result"]["status"] is False
    message: str = body["result"]["error"]["message"]
    if code is not None:
        assert body["result"]["error"]["code"] == code, body
    assert contains in message, message
    return message


def config_state(client: TestClient, headers: dict[str, str]) -> tuple[Any, Any, Any]:
    """Everything the resolver and realm endpoints can change."""
    resolvers = ok(client.get("/resolver/", headers=headers))
    realms = ok(client.get("/realm/", headers=headers))
    default = ok(client.get("/defaultrealm", headers=headers))
    return resolvers, realms, default
