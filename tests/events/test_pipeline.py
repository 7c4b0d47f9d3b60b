"""Pipeline semantics through HTTP: pre changes the request, post sees (and may change)
the reply even of failed requests, failures are audited and isolated, abort_on_error."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.events.handlers.counter import counter_total
from factorflow.tokens.info import get_info, set_info
from factorflow.tokens.models import Token
from tests.events.conftest import DefinitionMaker, add_token


def counter(services: Services, name: str) -> int:
    with services.sessions() as session:
        return counter_total(session, name)


def event_entries(services: Services) -> list[AuditEntry]:
    with services.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.like("%-EVENT %"))
                .order_by(AuditEntry.id)
            )
        )


def tokens(services: Services, *serials: str, **columns: Any) -> None:
    with services.sessions.begin() as session:
        for serial in serials:
            add_token(session, serial, **columns)


def token_row(services: Services, serial: str) -> Token:
    with services.sessions() as session:
        row = session.scalar(select(Token).where(Token.serial == serial))
        assert row is not None
        _ = row.info
        return row


def test_pre_request_mangler_changes_the_parameters(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    tokens(services, "KEEP1", "OTHER2")
    define(name="redirect", event="token_list", handlermodule="RequestMangler", action="set",
           position="pre", options={"parameter": "serial", "value": "OTHER2"})  # fmt: skip
    body = client.get("/token/", params={"serial": "KEEP1"}, headers=admin_headers).json()
    assert [t["serial"] for t in body["result"]["value"]["tokens"]] == ["OTHER2"]


def test_post_runs_on_failed_requests(
    client: TestClient, define: DefinitionMaker, services: Services, flatfile_realm: str
) -> None:
    define(name="count failures", event="validate_check", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "fails"},
           conditions={"result_status": "False", "detail_error_message": "does not exist"})  # fmt: skip
    response = client.post("/validate/check", data={"user": "ghost", "pass": "x"})
    assert response.json()["result"]["status"] is False
    assert counter(services, "fails") == 1
    client.post("/validate/check", data={"user": "alice", "pass": "wrong"})  # status true
    assert counter(services, "fails") == 1


def test_failing_action_is_audited_and_the_request_goes_on(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    define(name="before", event="event_list", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "ran"}, ordering=1)  # fmt: skip
    define(name="no serial", event="event_list", handlermodule="Token", action="disable",
           ordering=2)  # fmt: skip
    define(name="after", event="event_list", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "ran"}, ordering=3)  # fmt: skip
    response = client.get("/event/", headers=admin_headers)
    assert response.status_code == 200 and len(response.json()["result"]["value"]) == 3
    assert counter(services, "ran") == 2
    entries = event_entries(services)
    assert [(e.info, e.success) for e in entries] == [
        ("before", True), ("no serial (ActionError)", False), ("after", True),
    ]  # fmt: skip
    assert entries[1].action == "POST-EVENT event_list>>Token:disable"
    with services.sessions() as session:
        parent = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "GET /event/").order_by(AuditEntry.id)
        ).all()[-1]
    assert {e.request_id for e in entries} == {parent.request_id}  # linked to the request
    assert parent.success is True


def test_abort_on_error_fails_the_request(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    define(name="must work", event="token_list", handlermodule="Token", action="disable",
           position="pre", abort_on_error="1")  # fmt: skip
    response = client.get("/token/", headers=admin_headers)
    assert response.status_code == 400
    error = response.json()["result"]["error"]
    assert error["code"] == 903 and "must work" in error["message"]


def test_failed_action_leaves_no_partial_writes(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    with services.sessions.begin() as session:
        first = add_token(session, "NUM1")
        second = add_token(session, "WORD2")
        set_info(first, "n", "1")
        set_info(second, "n", "abc")
    define(name="bump", event="event_list", handlermodule="Token", action="increase tokeninfo",
           options={"key": "n"}, ordering=2)  # fmt: skip
    define(name="count", event="event_list", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "c"}, ordering=1)  # fmt: skip
    assert (
        client.get("/event/", params={"serial": "NUM1,WORD2"}, headers=admin_headers).status_code
        == 200
    )
    assert get_info(token_row(services, "NUM1"), "n") == "1"  # rolled back with its savepoint
    assert counter(services, "c") == 1  # the other action's write stays
    assert (
        client.get("/event/", params={"serial": "NUM1"}, headers=admin_headers).status_code == 200
    )
    assert get_info(token_row(services, "NUM1"), "n") == "2"


def test_actions_do_not_trigger_events(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    tokens(services, "T1")
    define(name="disable it", event="event_list", handlermodule="Token", action="disable")
    define(name="on disable", event="token_disable", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "disables"})  # fmt: skip
    client.get("/event/", params={"serial": "T1"}, headers=admin_headers)
    assert token_row(services, "T1").active is False
    assert counter(services, "disables") == 0
    client.post("/token/disable/T1", headers=admin_headers)
    assert counter(services, "disables") == 1


def test_response_mangler_and_ordering(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    define(name="second", event="event_list", handlermodule="ResponseMangler", action="set",
           ordering=5, options={"JSON pointer": "/detail/note", "type": "string",
                                "value": "second"})  # fmt: skip
    define(name="first", event="event_list", handlermodule="ResponseMangler", action="set",
           ordering=1, options={"JSON pointer": "/detail/note", "type": "string",
                                "value": "first"})  # fmt: skip
    define(name="tie", event="event_list", handlermodule="ResponseMangler", action="set",
           ordering=5, options={"JSON pointer": "/detail/tie", "type": "integer",
                                "value": "7"})  # fmt: skip
    body = client.get("/event/available", headers=admin_headers).json()
    assert body["detail"]["note"] == "second" and body["detail"]["tie"] == 7
    assert [e.info for e in event_entries(services)] == ["first", "second", "tie"]


def test_honest_conditions_and_expressions(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    unknown = {"tokentype": "spass"}  # no serial on /event/ → unknown
    define(name="compat", event="event_list", handlermodule="Counter", action="increase_counter",
           options={"counter_name": "compat"}, conditions=unknown)  # fmt: skip
    define(name="honest", event="event_list", handlermodule="Counter", action="increase_counter",
           options={"counter_name": "honest"}, conditions=unknown, unknown_is_match="false")  # fmt: skip
    define(name="either", event="event_list", handlermodule="Counter", action="increase_counter",
           options={"counter_name": "either"}, unknown_is_match="0",
           conditions={"tokentype": "spass", "logged_in_user": "admin"},
           condition_expression="tokentype OR logged_in_user")  # fmt: skip
    define(name="negated", event="event_list", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "negated"},
           conditions={"logged_in_user": "admin"},
           condition_expression="NOT logged_in_user")  # fmt: skip
    client.get("/event/", headers=admin_headers)
    assert [counter(services, n) for n in ("compat", "honest", "either", "negated")] == [1, 0, 1, 0]
    trace = json.loads(next(e for e in event_entries(services) if e.info == "either").trace)
    assert {t["condition"]: t["result"] for t in trace} == {
        "tokentype": "unknown", "logged_in_user": "matched",
    }  # fmt: skip


def test_audit_redacts_secrets(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    """Declared secrets and a URL's credentials are hidden; other options are shown as
    they are, whatever their names say (a tokeninfo key named ``secret_thing``)."""
    tokens(services, "T9")
    define(name="info", event="event_list", handlermodule="Token", action="set tokeninfo",
           options={"key": "secret_thing", "value": "v"})  # fmt: skip
    define(name="hook", event="event_list", handlermodule="WebHook", action="post_webhook",
           options={"URL": "https://bob:pw@hooks.example/in", "secret": "whsec_" + "A" * 32,
                    "data": "{}"})  # fmt: skip
    client.get("/event/", params={"serial": "T9"}, headers=admin_headers)
    shown = {e.info.split(" (")[0]: json.loads(e.action_detail) for e in event_entries(services)}
    assert shown["info"] == {"key": "secret_thing", "value": "v"}
    assert shown["hook"]["secret"] == "***"
    assert shown["hook"]["URL"] == "https://***@hooks.example/in"
    assert "pw" not in json.dumps(shown["hook"])
    entry = next(e for e in event_entries(services) if e.info == "info")
    assert entry.serial == "" and entry.administrator == "admin"
