"""POST /event/test: evaluate without side effects."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.events.handlers.counter import counter_total
from factorflow.tokens.models import Token
from tests import factories
from tests.events.conftest import DefinitionMaker, add_token


def value(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]["value"]


def test_one_definition_against_a_sample(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker,
    services: Services, flatfile_realm: str,
) -> None:  # fmt: skip
    with services.sessions.begin() as session:
        add_token(session, "HOTP1", tokentype="hotp", owner=("realm1", "resolver1", "1000"))
    definition_id = define(
        name="disable on failure", event="validate_check", handlermodule="Token",
        action="disable", conditions={"result_value": "False", "tokentype": "hotp",
                                      "realm": "other"},
    )  # fmt: skip
    answer = value(client.post("/event/test", json={
        "eventid": definition_id, "user": "alice", "realm": "realm1", "serial": "HOTP1",
        "result": {"status": True, "value": False},
    }, headers=admin_headers))  # fmt: skip
    [result] = answer["definitions"]
    assert answer["event"] == "validate_check"
    assert result["fires"] is False and result["verdict"] == "not_matched"
    assert {c["condition"]: (c["result"], c["reason"]) for c in result["conditions"]} == {
        "result_value": ("matched", "result.value is False"),
        "tokentype": ("matched", "the token type is hotp"),
        "realm": ("not_matched", "the user's realm is 'realm1'"),
    }
    with services.sessions() as session:
        token = session.scalar(select(Token))
        assert token is not None and token.active is True  # nothing ran


def test_inline_definition_and_unknowns(client: TestClient, admin_headers: dict[str, str]) -> None:
    inline = {"event": "validate_check", "handlermodule": "Counter",
              "action": "increase_counter", "options": {"counter_name": "c"},
              "conditions": {"tokentype": "spass"}, "unknown_is_match": False}  # fmt: skip
    answer = value(client.post("/event/test", json={"definition": inline}, headers=admin_headers))
    [result] = answer["definitions"]
    assert result["conditions"][0]["result"] == "unknown"
    assert result["fires"] is False and result["action"] is None
    inline["unknown_is_match"] = True
    answer = value(client.post("/event/test", json={"definition": json.dumps(inline)},
                               headers=admin_headers))  # fmt: skip
    [result] = answer["definitions"]
    assert result["fires"] is True
    assert result["action"] == {"module": "Counter", "action": "increase_counter",
                                "options": {"counter_name": "c"}}  # fmt: skip
    bad = client.post("/event/test", json={"definition": {**inline, "conditions": {"x": "1"}}},
                      headers=admin_headers)  # fmt: skip
    assert bad.status_code == 400 and "'x'" in bad.text


def test_all_definitions_of_an_event_change_nothing(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    define(name="count", event="event_list", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "c"})  # fmt: skip
    define(name="pre log", event="event_list", handlermodule="Logging", action="logging",
           position="pre", conditions={"logged_in_user": "admin"})  # fmt: skip
    answer = value(client.post("/event/test", data={"event": "event_list",
                                                    "logged_in_role": "user"},
                               headers=admin_headers))  # fmt: skip
    assert [(d["name"], d["fires"]) for d in answer["definitions"]] == [
        ("pre log", False), ("count", True),
    ]  # fmt: skip
    with services.sessions() as session:
        assert counter_total(session, "c") == 0
        events = session.scalars(select(AuditEntry).where(AuditEntry.action.like("%-EVENT%")))
        assert list(events) == []
    missing = client.post("/event/test", data={}, headers=admin_headers)
    assert missing.status_code == 400


def test_against_an_audited_request(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker,
    services: Services, flatfile_realm: str,
) -> None:  # fmt: skip
    client.post("/validate/check", data={"user": "alice", "realm": "realm1", "pass": "nope"})
    with services.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "POST /validate/check")
        ).one()
    definition_id = define(name="on reject", event="validate_check", handlermodule="Logging",
                           action="logging",
                           conditions={"result_authentication": "REJECT", "realm": "realm1"})  # fmt: skip
    answer = value(client.post("/event/test", data={"eventid": definition_id,
                                                    "audit_id": entry.id},
                               headers=admin_headers))  # fmt: skip
    assert answer["event"] == "validate_check"
    [result] = answer["definitions"]
    assert result["fires"] is True, result
    assert client.post("/event/test", data={"eventid": definition_id, "audit_id": 99999},
                       headers=admin_headers).status_code == 404  # fmt: skip


def test_replay_keeps_the_message_and_names_the_token(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker,
    services: Services, flatfile_realm: str,
) -> None:  # fmt: skip
    """A replayed authentication carries the answer's detail.message (as the audit's
    info kept it), so a ``detail_message`` condition can be confirmed by replaying; the
    answer says which token the conditions looked at and where it came from."""
    factories.enrol(client, admin_headers, "hotp", serial="HOTPDRY", otpkey="3132" * 10,
                    user="alice", realm="realm1", pin="1234")  # fmt: skip
    client.post("/validate/check", data={"user": "alice", "realm": "realm1",
                                         "pass": "1234000000"})  # fmt: skip
    with services.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "POST /validate/check")
        ).one()
    assert entry.info == "wrong otp value"
    definition_id = define(name="wrong otp", event="validate_check", handlermodule="Logging",
                           action="logging",
                           conditions={"detail_message": "wrong otp value", "tokentype": "hotp"})  # fmt: skip
    answer = value(client.post("/event/test", data={"eventid": definition_id,
                                                    "audit_id": entry.id},
                               headers=admin_headers))  # fmt: skip
    [result] = answer["definitions"]
    verdicts = {c["condition"]: c["result"] for c in result["conditions"]}
    assert verdicts == {"detail_message": "matched", "tokentype": "matched"}, result
    assert result["context"]["token"] == "HOTPDRY"
    assert "audit entry" in result["context"]["token_from"]
    assert result["context"]["user"] == "alice@realm1"
    # A sample that names no serial: the user's one token, said so.
    sample = value(client.post("/event/test", data={"eventid": definition_id, "user": "alice",
                                                    "realm": "realm1"},
                               headers=admin_headers))  # fmt: skip
    context = sample["definitions"][0]["context"]
    assert (context["token"], context["token_from"]) == ("HOTPDRY", "the user's tokens")
