"""The /event API: privacyIDEA's round trip with its quirks fixed, and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.conftest import user_headers
from tests.events.conftest import DefinitionMaker

BASE = {
    "name": "lock notice",
    "event": "validate_check,token_init",
    "handlermodule": "Logging",
    "action": "logging",
    "position": "post",
    "ordering": "10",
    "option.message": "locked {serial}",
    "option.level": "WARNING",
    "conditions": json.dumps({"token_locked": "True", "realm": "staff"}),
}


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]["value"]


def test_round_trip(client: TestClient, admin_headers: dict[str, str]) -> None:
    definition_id = ok(client.post("/event", data=BASE, headers=admin_headers))
    (stored,) = ok(client.get(f"/event/{definition_id}", headers=admin_headers))
    assert stored == {
        "id": definition_id, "uid": stored["uid"], "name": "lock notice", "active": True, "ordering": 10,
        "position": "post", "abort_on_error": False, "handlermodule": "Logging",
        "action": "logging", "condition": "", "event": ["validate_check", "token_init"],
        "options": {"message": "locked {serial}", "level": "WARNING"},
        "conditions": {"token_locked": "True", "realm": "staff"},
        "unknown_is_match": True, "condition_expression": "",
    }  # fmt: skip
    assert len(stored["uid"]) == 36  # a stable UUID, carried by export / import
    assert ok(client.get("/event/", headers=admin_headers)) == [stored]
    # An update keeps every omitted field (privacyIDEA resets position/ordering/active).
    ok(client.post("/event", data={"id": definition_id, "name": "renamed"}, headers=admin_headers))
    updated = ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]
    assert updated == {**stored, "name": "renamed"}
    ok(client.post("/event", json={"id": definition_id, "conditions": {}}, headers=admin_headers))
    assert ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]["conditions"] == {}
    ok(client.post(f"/event/disable/{definition_id}", headers=admin_headers))
    assert ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]["active"] is False
    ok(client.post(f"/event/enable/{definition_id}", headers=admin_headers))
    assert ok(client.delete(f"/event/{definition_id}", headers=admin_headers)) == definition_id
    # privacyIDEA's shape: a list of one, [] (200) for an unknown id; scripts read value[0]
    assert ok(client.get(f"/event/{definition_id}", headers=admin_headers)) == []
    assert client.delete(f"/event/{definition_id}", headers=admin_headers).status_code == 404


def test_metadata_endpoints(client: TestClient, admin_headers: dict[str, str]) -> None:
    available = ok(client.get("/event/available", headers=admin_headers))
    assert {"validate_check", "token_init", "auth", "event_write", "event_delete"} <= set(available)
    assert "Token" in ok(client.get("/event/handlermodules", headers=admin_headers))
    token_actions = ok(client.get("/event/actions/Token", headers=admin_headers))
    assert token_actions["set countwindow"]["count window"]["type"] == "int"
    assert token_actions["set tokenrealm"]["realm"]["required"] is True
    levels = ok(client.get("/event/actions/Logging", headers=admin_headers))["logging"]["level"]
    assert levels["value"] == ["ERROR", "WARNING", "INFO", "DEBUG"]
    assert ok(client.get("/event/actions/Nope", headers=admin_headers)) == []
    conditions = ok(client.get("/event/conditions/Token", headers=admin_headers))
    # privacyIDEA's keys, plus Factorflow's label (words for the UI; clients ignore it).
    assert conditions["token_locked"] == {
        "type": "str", "desc": conditions["token_locked"]["desc"], "group": "token",
        "value": ["True", "False"], "label": "Token locked",
    }  # fmt: skip
    assert conditions["tokentype"]["type"] == "multi"
    assert {"name": "spass"} in conditions["tokentype"]["value"]
    assert ok(client.get("/event/positions/ResponseMangler", headers=admin_headers)) == ["post"]
    assert ok(client.get("/event/positions/Nope", headers=admin_headers)) == []
    assert ok(client.get("/event/defaults/Token", headers=admin_headers))["abort_on_error"] is False


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"handlermodule": "Nope"}, "Nope"),
        ({"action": "explode"}, "action"),
        ({"handlermodule": "ResponseMangler", "action": "delete", "position": "pre",
          "option.JSON pointer": "/detail/x"}, "position"),
        ({"position": "sideways"}, "position"),
        ({"option.colour": "red"}, "colour"),
        ({"option.level": "LOUD"}, "level"),
        ({"option.message": "hello {bogus}"}, "bogus"),
        ({"conditions": json.dumps({"no_such_condition": "1"})}, "no_such_condition"),
        ({"conditions": json.dumps({"serial": "([unclosed"})}, "serial"),
        ({"conditions": json.dumps({"tokeninfo": "just text"})}, "tokeninfo"),
        ({"conditions": json.dumps({"failcounter": ">lots"})}, "failcounter"),
        ({"conditions": "[1, 2]"}, "conditions"),
        ({"conditions": "{not json"}, "conditions"),
        ({"condition_expression": "realm OR nothing"}, "condition_expression"),
        ({"ordering": "first"}, "ordering"),
        ({"event": "no_such_event"}, "no_such_event"),
        ({"name": ""}, "name"),
        ({"handlermodule": "Token", "action": "set countwindow",
          "option.message": "", "option.count window": "many"}, "message"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_and_nothing_stored(
    client: TestClient, admin_headers: dict[str, str], change: dict[str, str], named: str
) -> None:
    data = {**BASE, **change}
    response = client.post("/event", data=data, headers=admin_headers)
    assert response.status_code == 400, response.text
    body = response.json()["result"]
    assert body["status"] is False and named in body["error"]["message"]
    assert ok(client.get("/event/", headers=admin_headers)) == []


def test_bad_option_value_types(client: TestClient, admin_headers: dict[str, str]) -> None:
    data = {"name": "n", "event": "token_init", "handlermodule": "Token",
            "action": "set countwindow", "option.count window": "many"}  # fmt: skip
    response = client.post("/event", data=data, headers=admin_headers)
    assert response.status_code == 400
    assert "count window" in response.json()["result"]["error"]["message"]
    data["action"] = "set random pin"
    data.pop("option.count window")
    data["option.length"] = "99"
    response = client.post("/event", data=data, headers=admin_headers)
    assert response.status_code == 400 and "length" in response.text
    missing = client.post("/event", data={"name": "x", "event": "auth"}, headers=admin_headers)
    assert missing.status_code == 400 and "handlermodule" in missing.text
    assert ok(client.get("/event/", headers=admin_headers)) == []


def test_update_with_bad_input_changes_nothing(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker
) -> None:
    definition_id = define(name="d", event="auth", handlermodule="Logging", action="logging")
    before = ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]
    bad = client.post("/event", data={"id": definition_id, "option.level": "LOUD"},
                      headers=admin_headers)  # fmt: skip
    assert bad.status_code == 400
    assert ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0] == before


def test_admin_only(client: TestClient, admin_headers: dict[str, str], flatfile_realm: str) -> None:
    headers = user_headers(client, "alice")
    assert client.get("/event/", headers=headers).status_code == 401
    assert client.post("/event", data=BASE, headers=headers).status_code == 401
    assert client.get("/event/").status_code == 401


def test_event_changes_are_events(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker,
    services: Services,
) -> None:  # fmt: skip
    define(name="count writes", event="event_write,event_delete", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "changes"})  # fmt: skip
    second = define(name="x", event="auth", handlermodule="Logging", action="logging")
    ok(client.delete(f"/event/{second}", headers=admin_headers))
    with services.sessions() as session:
        from factorflow.events.handlers.counter import counter_total

        # the first definition's own creation did not count (it did not exist yet)
        assert counter_total(session, "changes") == 2


def test_history_and_rollback(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker
) -> None:
    definition_id = define(name="v1", event="auth", handlermodule="Logging", action="logging",
                           options={"message": "one"})  # fmt: skip
    ok(client.post("/event", data={"id": definition_id, "name": "v2", "option.message": "two"},
                   headers=admin_headers))  # fmt: skip
    ok(client.post(f"/event/disable/{definition_id}", headers=admin_headers))
    history = ok(client.get(f"/event/{definition_id}/history", headers=admin_headers))
    assert [(h["version"], h["change"], h["who"]) for h in history] == [
        (1, "create", "admin"), (2, "update", "admin"), (3, "disable", "admin"),
    ]  # fmt: skip
    assert history[1]["definition"]["options"] == {"message": "two"}
    ok(client.post(f"/event/{definition_id}/rollback/1", headers=admin_headers))
    restored = ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]
    assert (restored["name"], restored["options"], restored["active"]) == (
        "v1",
        {"message": "one"},
        True,
    )
    ok(client.delete(f"/event/{definition_id}", headers=admin_headers))
    ok(client.post(f"/event/{definition_id}/rollback/2", headers=admin_headers))
    assert ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]["name"] == "v2"
    missing = client.post(f"/event/{definition_id}/rollback/99", headers=admin_headers)
    assert missing.status_code == 404
    assert client.get("/event/12345/history", headers=admin_headers).status_code == 404
