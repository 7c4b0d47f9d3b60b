"""/user/settings: each principal reads and writes only its own web UI settings
(privacyIDEA 3.14's user settings; issue 13, item 11)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.users.models import UserSettings
from factorflow.users.web_settings import MAX_SETTINGS_BYTES
from tests.conftest import user_headers

Headers = dict[str, str]


def value(response: Any) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"]["status"] is True, body
    return body["result"]["value"]


def refused(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    assert response.json()["result"]["status"] is False
    message: str = response.json()["result"]["error"]["message"]
    return message


def stored_rows(services: Services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(UserSettings)) or 0


def test_a_user_merges_replaces_and_deletes_its_settings(
    client: TestClient, flatfile_realm: str
) -> None:
    alice = user_headers(client, "alice")
    assert value(client.get("/user/settings", headers=alice)) == {}
    first = {"token_page_size": 25, "columns": ["serial", "type"]}
    assert value(client.post("/user/settings", json=first, headers=alice)) == first
    merged = value(client.post("/user/settings", json={"language": "de"}, headers=alice))
    assert merged == {**first, "language": "de"}
    assert value(client.get("/user/settings", headers=alice)) == merged
    replaced = value(
        client.post("/user/settings", json={"settings": {"a": 1}, "replace": 1}, headers=alice)
    )
    assert replaced == {"a": 1}
    # The settings object may also come as JSON text (a form post).
    as_text = value(client.post("/user/settings", data={"settings": '{"b": 2}'}, headers=alice))
    assert as_text == {"a": 1, "b": 2}
    assert value(client.delete("/user/settings/a", headers=alice)) is True
    assert value(client.delete("/user/settings/a", headers=alice)) is False
    assert value(client.get("/user/settings", headers=alice)) == {"b": 2}
    assert value(client.delete("/user/settings", headers=alice)) is True
    assert value(client.get("/user/settings", headers=alice)) == {}


def test_each_principal_reaches_only_its_own_settings(
    client: TestClient, flatfile_realm: str, admin_headers: Headers, services: Services
) -> None:
    alice, bob = user_headers(client, "alice"), user_headers(client, "bob")
    value(client.post("/user/settings", json={"theme": "dark"}, headers=alice))
    value(client.post("/user/settings", json={"theme": "light"}, headers=admin_headers))
    # The JWT names the principal; parameters naming someone else change nothing.
    assert value(client.get("/user/settings", params={"user": "alice"}, headers=bob)) == {}
    value(client.delete("/user/settings", params={"user": "alice"}, headers=bob))
    assert value(client.get("/user/settings", headers=alice)) == {"theme": "dark"}
    assert value(client.get("/user/settings", headers=admin_headers)) == {"theme": "light"}
    assert stored_rows(services) == 2


def test_bad_input_is_refused_and_changes_nothing(
    client: TestClient, flatfile_realm: str, services: Services
) -> None:
    alice = user_headers(client, "alice")
    value(client.post("/user/settings", json={"kept": True}, headers=alice))
    cases = [
        ({"settings": "[1, 2]"}, "must be a JSON object"),
        ({"settings": "{not json"}, "does not parse"),
        ({}, "Missing parameter"),
        ({"big": "x" * MAX_SETTINGS_BYTES}, "larger than"),
        ({"settings": {"": 1}}, "setting name"),
    ]
    for body, message in cases:
        assert message in refused(client.post("/user/settings", json=body, headers=alice))
    assert value(client.get("/user/settings", headers=alice)) == {"kept": True}
    assert refused(client.get("/user/settings"), 401)
    assert stored_rows(services) == 1
