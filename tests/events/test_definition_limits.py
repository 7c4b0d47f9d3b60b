"""What a definition may carry is bounded on every save (API, import, rollback), so
that no definition makes each request slow or its action fail every time."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.core.compare import compare
from factorflow.core.safe_regex import MAX_SUBJECT
from factorflow.events import limits
from factorflow.events.cache import bump_version
from factorflow.events.handlers.counter import counter_total
from factorflow.events.models import EventDefinition, EventDefinitionHistory
from tests.events.conftest import DefinitionMaker

LOGGING = {"name": "n", "event": "validate_check", "handlermodule": "Logging", "action": "logging"}
WEBHOOK = {**LOGGING, "handlermodule": "WebHook", "action": "post_webhook",
           "option.URL": "https://hooks.example.org/in"}  # fmt: skip
MAIL = {**LOGGING, "handlermodule": "UserNotification", "action": "savefile",
        "option.filename": "x.txt", "option.body": "b"}  # fmt: skip


def conditions(**values: str) -> dict[str, str]:
    return {"conditions": json.dumps(values)}


def refused(client: TestClient, headers: dict[str, str], data: dict[str, Any], named: str) -> str:
    """POST /event answers 400 in the envelope naming ``named``, and stores nothing."""
    response = client.post("/event", data=data, headers=headers)
    assert response.status_code == 400, response.text
    error = response.json()["result"]["error"]
    assert error["code"] == 905 and named in error["message"], error
    assert client.get("/event/", headers=headers).json()["result"]["value"] == []
    return str(error["message"])


# -- events ------------------------------------------------------------------------------


def test_a_repeated_event_is_stored_once_and_runs_once(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    definition_id = define(name="count", event=",".join(["event_list"] * 50),
                           handlermodule="Counter", action="increase_counter",
                           options={"counter_name": "lists"})  # fmt: skip
    stored = client.get(f"/event/{definition_id}", headers=admin_headers).json()["result"]["value"]
    assert stored[0]["event"] == ["event_list"]
    with services.sessions() as session:
        before = counter_total(session, "lists")
    client.get("/event/available", headers=admin_headers)
    with services.sessions() as session:
        assert counter_total(session, "lists") == before + 1


def test_a_stored_definition_with_repeated_events_still_runs_once(
    client: TestClient, admin_headers: dict[str, str], services: Services
) -> None:
    with services.sessions.begin() as session:  # as written before the check existed
        session.add(EventDefinition(name="old", events=["event_list"] * 20, handlermodule="Counter",
                                    action="increase_counter", options={"counter_name": "old"}))  # fmt: skip
        bump_version(session)
    services.events.cache.invalidate()
    client.get("/event/available", headers=admin_headers)
    with services.sessions() as session:
        assert counter_total(session, "old") == 1


def test_the_number_of_events_is_bounded(client: TestClient, admin_headers: dict[str, str]) -> None:
    many = ",".join(f"event_{n}" for n in range(limits.MAX_EVENTS + 1))
    message = refused(client, admin_headers, {**LOGGING, "event": many}, "'event'")
    assert f"more than {limits.MAX_EVENTS} events" in message


# -- date offsets -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (conditions(tokeninfo="locked < {now}-99999999d"), "tokeninfo"),
        (conditions(user_info="expires 'date_before' {now}+999999999d"), "user_info"),
        (conditions(last_auth="999999999y"), "last_auth"),
        (conditions(tokeninfo="seen 'date_within_last' 200y"), "tokeninfo"),
        ({"option.message": "at {now}+99999999d"}, "message"),
        ({"handlermodule": "Token", "action": "set validity", "option.valid till": "+999999d"},
         "valid till"),
    ],
)  # fmt: skip
def test_date_offsets_beyond_a_century_are_refused(
    client: TestClient, admin_headers: dict[str, str], change: dict[str, str], named: str
) -> None:
    refused(client, admin_headers, {**LOGGING, **change}, named)


def test_offsets_within_a_century_are_kept(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker
) -> None:
    define(**LOGGING, conditions={"tokeninfo": "locked < {now}-36500d", "last_auth": "99y"},
           options={"message": "due {now}+7d"})  # fmt: skip


# -- control characters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({**WEBHOOK, "option.URL": "https://hooks.example.org/in\r\nX-Injected: 1"}, "URL"),
        ({**WEBHOOK, "option.headers": json.dumps({"X-Token": "a\u0000b"})}, "headers"),
        ({**WEBHOOK, "option.headers": json.dumps({"X-Token": "a\u000bb"})}, "headers"),
        ({**MAIL, "action": "sendmail", "option.emailconfig": "", "option.To": "email",
          "option.To email": "a@example.org\r\nBcc: all@example.org"}, "To email"),
        ({**MAIL, "option.filename": "report\n.txt"}, "filename"),
        ({**LOGGING, "name": "lock\r\nforged log line"}, "name"),
        ({**LOGGING, **conditions(tokeninfo="group == a\u0000b")}, "tokeninfo"),
        ({**LOGGING, "option.message": "bell \u0007 in a text"}, "message"),
    ],
)  # fmt: skip
def test_control_characters_are_refused(
    client: TestClient, admin_headers: dict[str, str], data: dict[str, str], named: str
) -> None:
    refused(client, admin_headers, data, named)


def test_multi_line_options_keep_their_line_breaks(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker
) -> None:
    definition_id = define(**LOGGING, options={"message": "line one\r\n\tline two"})
    stored = client.get(f"/event/{definition_id}", headers=admin_headers).json()["result"]["value"]
    assert stored[0]["options"]["message"] == "line one\r\n\tline two"


# -- sizes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (conditions(tokeninfo="note == " + "x" * limits.MAX_CONDITION_VALUE), "tokeninfo"),
        (conditions(client_ip=",".join(["10.0.0.1"] * 400)), "client_ip"),
        ({**conditions(realm="r"), "condition_expression": "realm OR " * 300 + "realm"},
         "condition_expression"),
        ({**conditions(realm="r"), "condition_expression": "(" * 900 + "realm" + ")" * 900},
         "condition_expression"),
        ({**conditions(realm="r"), "condition_expression": "NOT " * 40 + "realm"},
         "condition_expression"),
    ],
)  # fmt: skip
def test_sizes_are_bounded(
    client: TestClient, admin_headers: dict[str, str], change: dict[str, str], named: str
) -> None:
    refused(client, admin_headers, {**LOGGING, **change}, named)


def test_all_options_together_are_bounded(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    data = {**WEBHOOK, "option.data": json.dumps({"k": "v" * 19_000}),
            "option.headers": json.dumps({f"X-{n}": "v" * 380 for n in range(10)})}  # fmt: skip
    assert (
        sum(len(v) for k, v in data.items() if k.startswith("option.")) < limits.MAX_OPTIONS_TOTAL
    )
    original = limits.MAX_OPTIONS_TOTAL
    limits.MAX_OPTIONS_TOTAL = 20_000
    try:
        refused(client, admin_headers, data, "all options together")
    finally:
        limits.MAX_OPTIONS_TOTAL = original


def test_the_number_of_definitions_is_bounded(
    client: TestClient,
    admin_headers: dict[str, str],
    define: DefinitionMaker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "MAX_DEFINITIONS", 2)
    first = define(**LOGGING)
    define(**LOGGING)
    response = client.post("/event", data=LOGGING, headers=admin_headers)
    assert response.status_code == 400 and "at most 2" in response.text
    # an update is not a new definition
    ok = client.post("/event", data={"id": first, "name": "renamed"}, headers=admin_headers)
    assert ok.status_code == 200, ok.text
    document = {"definitions": [{**LOGGING, "uid": "third", "event": ["validate_check"]}]}
    response = client.post("/event/import", json={"data": json.dumps(document)},
                           headers=admin_headers)  # fmt: skip
    assert response.status_code == 400 and "at most 2" in response.text


# -- regular expressions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (conditions(serial="^(a+)+$"), "serial"),
        (conditions(detail_message="(x|x)*y"), "detail_message"),
        (conditions(detail_error_message="(.*a){20}"), "detail_error_message"),
        (conditions(tokeninfo="mail 'matches' ([a-z]+.)+example"), "tokeninfo"),
        (conditions(user_info="uid matches (a)\\1"), "user_info"),
        (conditions(challenge_session="a{5000}"), "challenge_session"),
        (conditions(serial="x" * 1001), "serial"),
        ({"handlermodule": "RequestMangler", "action": "set", "position": "pre",
          "option.parameter": "realm", "option.value": "r", "option.match_parameter": "user",
          "option.match_pattern": "(\\w+\\s?)*$"}, "match_pattern"),
    ],
)  # fmt: skip
def test_regular_expressions_that_backtrack_without_bound_are_refused(
    client: TestClient, admin_headers: dict[str, str], change: dict[str, str], named: str
) -> None:
    message = refused(client, admin_headers, {**LOGGING, **change}, named)
    assert any(
        word in message for word in ("regular expression", "repeat", "repetition", "backreference")
    )


def test_safe_regular_expressions_are_kept(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker
) -> None:
    define(**LOGGING, conditions={"serial": "^(PIEM|PISM)[0-9A-F]{8}$",
                                  "detail_message": "(?i)wrong otp (pin|value)",
                                  "tokeninfo": "mail matches (?>[a-z]+\\.)+example\\.org"})  # fmt: skip


def test_a_text_too_long_to_match_safely_is_no_match() -> None:
    long = "a" * (MAX_SUBJECT + 1)
    assert compare(long, "matches", "a*") is False
    assert compare(long, "!matches", "b") is False
    assert compare("a" * MAX_SUBJECT, "matches", "a*") is True


# -- import and rollback ----------------------------------------------------------------------


def test_import_is_held_to_the_same_bounds(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    entry = {**LOGGING, "uid": "u1", "event": ["validate_check"],
             "conditions": {"tokeninfo": "locked < {now}-99999999d"}}  # fmt: skip
    response = client.post("/event/import", json={"data": yaml.safe_dump([entry])},
                           headers=admin_headers)  # fmt: skip
    assert response.status_code == 400, response.text
    assert "definition 1 ('n')" in response.text and "tokeninfo" in response.text
    entry["conditions"] = {}
    entry["condition_expression"] = "x" * (limits.MAX_EXPRESSION + 1)
    response = client.post("/event/import", json={"data": yaml.safe_dump([entry])},
                           headers=admin_headers)  # fmt: skip
    assert response.status_code == 400 and "condition_expression" in response.text
    assert client.get("/event/", headers=admin_headers).json()["result"]["value"] == []


def test_rollback_is_held_to_the_same_bounds(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    definition_id = define(**LOGGING)
    before = client.get(f"/event/{definition_id}", headers=admin_headers).json()["result"]["value"]
    with services.sessions.begin() as session:  # a snapshot written before the bounds
        snapshot = {**before[0], "conditions": {"serial": "^(a+)+$"},
                    "event": ["validate_check"] * 3}  # fmt: skip
        session.add(EventDefinitionHistory(definition_id=definition_id, version=9,
                                           change="update", who="old", snapshot=snapshot))  # fmt: skip
    response = client.post(f"/event/{definition_id}/rollback/9", headers=admin_headers)
    assert response.status_code == 400 and "serial" in response.text
    after = client.get(f"/event/{definition_id}", headers=admin_headers).json()["result"]["value"]
    assert after == before
