"""Chained actions: a definition with ``chain_events`` runs the definitions of the
request its action performed (a Token ``disable``: token_disable), once each, with
the chain in the audit; a loop and the depth limit stop the chain, audited as such;
without the option nothing chains."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.events.handlers.counter import counter_total
from factorflow.tokens.info import get_info
from factorflow.tokens.models import Token
from tests import factories
from tests.events.conftest import DefinitionMaker, add_token


def counter(services: Services, name: str) -> int:
    with services.sessions() as session:
        return counter_total(session, name)


def entries(services: Services) -> list[AuditEntry]:
    with services.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.like("%-EVENT %") | AuditEntry.action.like("CHAIN-%"))
                .order_by(AuditEntry.id)
            )
        )


def token(services: Services, serial: str) -> Token:
    with services.sessions() as session:
        row = session.scalar(select(Token).where(Token.serial == serial))
        assert row is not None
        _ = row.info
        return row


def listing(client: TestClient, headers: dict[str, str], serial: str) -> None:
    response = client.get("/token/", params={"serial": serial}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["status"] is True


def test_a_chain_of_two_fires_once_each(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    with services.sessions.begin() as session:
        add_token(session, "CHAIN1")
    a = define(name="disable", event="token_list", handlermodule="Token", action="disable",
               position="pre", chain_events="1")  # fmt: skip
    define(name="pre sees the parameters", event="token_disable", handlermodule="Counter",
           action="increase_counter", position="pre", options={"counter_name": "pre"},
           conditions={"serial": "CHAIN1"})  # fmt: skip
    define(name="post sees the result", event="token_disable", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "post"},
           conditions={"result_value": "True"})  # fmt: skip
    define(name="not this event", event="token_enable", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "other"})  # fmt: skip
    listing(client, admin_headers, "CHAIN1")
    assert token(services, "CHAIN1").active is False
    assert (counter(services, "pre"), counter(services, "post")) == (1, 1)
    assert counter(services, "other") == 0
    found = entries(services)
    assert [e.action for e in found] == [
        "PRE-EVENT token_disable>>Counter:increase_counter",
        "POST-EVENT token_disable>>Counter:increase_counter",
        "PRE-EVENT token_list>>Token:disable",
    ]
    assert found[0].info == f"pre sees the parameters [chain {a}, depth 1]"
    assert found[1].info == f"post sees the result [chain {a}, depth 1]"
    assert all(e.success for e in found)
    assert {e.serial for e in found[:2]} == {"CHAIN1"}


def test_off_by_default(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    with services.sessions.begin() as session:
        add_token(session, "PLAIN1")
    define(name="disable", event="token_list", handlermodule="Token", action="disable",
           position="pre")  # fmt: skip
    define(name="count", event="token_disable", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "chained"})  # fmt: skip
    listing(client, admin_headers, "PLAIN1")
    assert token(services, "PLAIN1").active is False
    assert counter(services, "chained") == 0
    assert [e.action for e in entries(services)] == ["PRE-EVENT token_list>>Token:disable"]


def test_a_loop_stops_and_is_audited_as_a_loop(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    with services.sessions.begin() as session:
        add_token(session, "LOOP1")
    a = define(name="A", event="token_list,token_enable", handlermodule="Token",
               action="disable", position="pre", chain_events="1")  # fmt: skip
    b = define(name="B", event="token_disable", handlermodule="Token", action="enable",
               chain_events="1")  # fmt: skip
    listing(client, admin_headers, "LOOP1")
    assert token(services, "LOOP1").active is True  # A disabled, B enabled, A stopped
    found = entries(services)
    assert [(e.action, e.info, e.success) for e in found] == [
        ("CHAIN-STOP token_enable>>Token:disable",
         f"A (chain stopped: a loop) [chain {a}>{b}>{a}, depth 3]", True),
        ("POST-EVENT token_disable>>Token:enable", f"B [chain {a}, depth 1]", True),
        ("PRE-EVENT token_list>>Token:disable", "A", True),
    ]  # fmt: skip


def test_the_depth_limit_is_honoured(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    assert services.settings.event_chain_depth == 3
    with services.sessions.begin() as session:
        add_token(session, "DEEP1")
    a = define(name="0", event="token_list", handlermodule="Token", action="disable",
               position="pre", chain_events="1")  # fmt: skip
    b = define(name="1", event="token_disable", handlermodule="Token", action="enable",
               chain_events="1")  # fmt: skip
    c = define(name="2", event="token_enable", handlermodule="Token",
               action="set description", options={"description": "deep"},
               chain_events="1")  # fmt: skip
    d = define(name="3", event="token_set", handlermodule="Token", action="set tokeninfo",
               options={"key": "depth", "value": "3"}, chain_events="1")  # fmt: skip
    define(name="4", event="token_info", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "too deep"})  # fmt: skip
    listing(client, admin_headers, "DEEP1")
    row = token(services, "DEEP1")
    assert (row.active, row.description, get_info(row, "depth")) == (True, "deep", "3")
    assert counter(services, "too deep") == 0
    found = {e.action: e for e in entries(services)}
    stop = found["CHAIN-STOP token_set>>token_info"]
    assert stop.success is True
    assert stop.info == (
        f"chained actions (chain stopped: the depth limit 3) [chain {a}>{b}>{c}>{d}, depth 4]"
    )
    assert found["POST-EVENT token_set>>Token:set tokeninfo"].info == (
        f"3 [chain {a}>{b}>{c}, depth 3]"
    )


def test_a_chained_abort_fails_the_parent_action_not_the_request(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    with services.sessions.begin() as session:
        add_token(session, "ABORT1")
    a = define(name="disable", event="token_list", handlermodule="Token", action="disable",
               position="pre", chain_events="1")  # fmt: skip
    define(name="refuse", event="token_disable", handlermodule="Token",
           action="set tokenrealm", options={"realm": "nowhere"}, position="pre",
           abort_on_error="1")  # fmt: skip
    listing(client, admin_headers, "ABORT1")  # the parent's own abort_on_error is off
    assert token(services, "ABORT1").active is True  # rolled back with its chain
    found = {e.action: e for e in entries(services)}
    chained = found["PRE-EVENT token_disable>>Token:set tokenrealm"]
    assert (chained.success, chained.info) == (False, f"refuse (ActionError) [chain {a}, depth 1]")
    parent = found["PRE-EVENT token_list>>Token:disable"]
    assert (parent.success, parent.info) == (False, "disable (ChainAbortedError)")


def test_only_actions_that_perform_a_request_chain(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = factories.save_definition(
        client, admin_headers, name="c", event="token_list", handlermodule="Counter",
        action="increase_counter", options={"counter_name": "x"}, chain_events="1",
    )  # fmt: skip
    assert response.status_code == 400
    assert "chain_events" in response.json()["result"]["error"]["message"]


def test_chain_events_is_listed_exported_and_imported(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker
) -> None:
    define(name="chained", event="token_list", handlermodule="Token", action="disable",
           chain_events="1")  # fmt: skip
    define(name="plain", event="token_list", handlermodule="Token", action="enable")
    listed = {d["name"]: d for d in factories.definitions(client, admin_headers)}
    assert listed["chained"]["chain_events"] is True
    assert "chain_events" not in listed["plain"]
    exported = client.get("/event/export", headers=admin_headers)
    assert exported.status_code == 200, exported.text
    assert exported.text.count("chain_events: true") == 1
    again = client.post("/event/import", json={"data": exported.text}, headers=admin_headers)
    report = again.json()["result"]["value"]
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 2)
    text = exported.text.replace("chain_events: true", "chain_events: false")
    report = client.post("/event/import", json={"data": text}, headers=admin_headers).json()
    assert report["result"]["value"]["updated"] == 1
    listed = {d["name"]: d for d in factories.definitions(client, admin_headers)}
    assert "chain_events" not in listed["chained"]
