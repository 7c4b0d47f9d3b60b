"""Chained actions beyond the Token handler's simple ones: CustomUserAttributes
(``set_custom_user_attribute`` / ``delete_custom_user_attribute``), Token ``enroll``
(``token_init``), ``set validity`` (``token_set``), ``increase tokeninfo``
(``token_info``), ``set random pin`` (``token_setrandompin``) and ``attach application``
(``machine_token_attach``): each notes the API request it performed, as the route would
have it, and a definition with ``chain_events`` runs that request's definitions, with
the loop stop and the audit of every chain."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.core.invocation import Outcome
from factorflow.events.handlers.base import PerformedRequest
from factorflow.events.handlers.counter import counter_total
from factorflow.tokens.models import Token
from tests import factories
from tests.events.conftest import DefinitionMaker, add_token, make_facts
from tests.events.test_chained import entries
from tests.events.test_handlers import run
from tests.machines import keys
from tests.tokens.helpers import RFC_KEY_HEX

H = dict[str, str]


def counter(services: Services, name: str) -> int:
    with services.sessions() as session:
        return counter_total(session, name)


def attribute(client: TestClient, headers: H, key: str) -> object:
    response = client.get("/user/attribute", params={"user": "alice", "realm": "realm1",
                                                     "key": key}, headers=headers)  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()["result"]["value"]


def list_alices_tokens(client: TestClient, headers: H) -> None:
    response = client.get("/token/", params={"user": "alice", "realm": "realm1"}, headers=headers)
    assert response.status_code == 200, response.text


# -- what each action notes -------------------------------------------------------------


def test_user_attribute_actions_note_their_requests(
    services: Services, session: Session, flatfile_realm: str
) -> None:
    facts = make_facts(services, session, params={"user": "alice", "realm": flatfile_realm})
    ctx = run(services, facts, "CustomUserAttributes", "set_custom_user_attributes",
              attrkey="team", attrvalue="red")  # fmt: skip
    assert ctx.performed == [PerformedRequest(
        "set_custom_user_attribute", "POST", "/user/attribute",
        {"user": "alice", "realm": "realm1", "key": "team", "value": "red"}, Outcome(value=True),
    )]  # fmt: skip
    ctx = run(services, facts, "CustomUserAttributes", "delete_custom_user_attributes",
              attrkey="team")  # fmt: skip
    again = run(services, facts, "CustomUserAttributes", "delete_custom_user_attributes",
                attrkey="team")  # fmt: skip
    rule = "/user/attribute/<attrkey>/<username>/<realm>"
    params = {"attrkey": "team", "username": "alice", "realm": "realm1"}
    assert ctx.performed == [PerformedRequest("delete_custom_user_attribute", "DELETE", rule,
                                              params, Outcome(value=True))]  # fmt: skip
    assert again.performed[0].result.value is False  # the route's answer: it did not exist


def test_enroll_notes_token_init_without_its_secrets(services: Services, session: Session) -> None:
    facts = make_facts(services, session, event="token_list")
    extra = json.dumps({"otpkey": RFC_KEY_HEX, "pin": "1234", "genkey": 0})
    ctx = run(services, facts, "Token", "enroll", tokentype="hotp", additional_params=extra)
    [performed] = ctx.performed
    serial = performed.params["serial"]
    assert (performed.event, performed.rule, performed.params["type"]) == (
        "token_init", "/token/init", "hotp",
    )  # fmt: skip
    assert not {"otpkey", "pin"} & set(performed.params)
    assert RFC_KEY_HEX not in json.dumps(performed.params)
    assert session.scalar(select(Token).where(Token.serial == serial)) is not None
    assert performed.result.detail["serial"] == serial


def test_token_actions_note_their_requests(services: Services, session: Session) -> None:
    add_token(session, "NOTE1")
    facts = make_facts(services, session, params={"serial": "NOTE1"}, outcome=Outcome(True))
    ctx = run(services, facts, "Token", "set validity", valid_till="2030/12/23")
    [validity] = ctx.performed
    assert (validity.event, validity.rule) == ("token_set", "/token/set/<serial>")
    assert validity.params["validity_period_end"].startswith("2030-12-23")
    ctx = run(services, facts, "Token", "increase tokeninfo", key="n", increment="2")
    assert ctx.performed[0].params == {"serial": "NOTE1", "key": "n", "value": "2"}
    assert ctx.performed[0].event == "token_info"
    ctx = run(services, facts, "Token", "set random pin", length="8")
    [pin] = ctx.performed
    assert (pin.event, pin.rule, pin.result.value) == (
        "token_setrandompin", "/token/setrandompin/<serial>", 1,
    )  # fmt: skip
    assert len(pin.result.detail["pin"]) == 8  # as /token/setrandompin answers it, once


# -- chains through the API --------------------------------------------------------------


def test_a_user_attribute_chain_runs_the_attribute_events(
    client: TestClient, admin_headers: H, define: DefinitionMaker, services: Services,
    flatfile_realm: str,
) -> None:  # fmt: skip
    a = define(name="mark", event="token_list", handlermodule="CustomUserAttributes",
               action="set_custom_user_attributes", position="pre", chain_events="1",
               options={"attrkey": "seen", "attrvalue": "yes"})  # fmt: skip
    define(name="pre sees the user", event="set_custom_user_attribute", position="pre",
           handlermodule="Counter", action="increase_counter",
           options={"counter_name": "pre"}, conditions={"realm": "realm1"})  # fmt: skip
    define(name="post sees the result", event="set_custom_user_attribute",
           handlermodule="Counter", action="increase_counter",
           options={"counter_name": "post"}, conditions={"result_value": "True"})  # fmt: skip
    list_alices_tokens(client, admin_headers)
    assert attribute(client, admin_headers, "seen") == "yes"
    assert (counter(services, "pre"), counter(services, "post")) == (1, 1)
    found = entries(services)
    assert [(e.action, e.info) for e in found] == [
        ("PRE-EVENT set_custom_user_attribute>>Counter:increase_counter",
         f"pre sees the user [chain {a}, depth 1]"),
        ("POST-EVENT set_custom_user_attribute>>Counter:increase_counter",
         f"post sees the result [chain {a}, depth 1]"),
        ("PRE-EVENT token_list>>CustomUserAttributes:set_custom_user_attributes", "mark"),
    ]  # fmt: skip
    # The chained entries name the user the chained request was about (its realm too:
    # a realm-limited admin's audit shows them).
    assert {(e.user, e.realm) for e in found[:2]} == {("alice", "realm1")}


def test_a_set_and_delete_loop_stops(
    client: TestClient, admin_headers: H, define: DefinitionMaker, services: Services,
    flatfile_realm: str,
) -> None:  # fmt: skip
    a = define(name="A", event="token_list,delete_custom_user_attribute", position="pre",
               handlermodule="CustomUserAttributes", action="set_custom_user_attributes",
               chain_events="1", options={"attrkey": "loop", "attrvalue": "1"})  # fmt: skip
    b = define(name="B", event="set_custom_user_attribute", chain_events="1",
               handlermodule="CustomUserAttributes", action="delete_custom_user_attributes",
               options={"attrkey": "loop"})  # fmt: skip
    list_alices_tokens(client, admin_headers)
    assert attribute(client, admin_headers, "loop") is None  # A set it, B deleted it, A stopped
    assert [(e.action, e.info, e.success) for e in entries(services)] == [
        ("CHAIN-STOP delete_custom_user_attribute>>CustomUserAttributes:"
         "set_custom_user_attributes", f"A (chain stopped: a loop) [chain {a}>{b}>{a}, depth 3]",
         True),
        ("POST-EVENT set_custom_user_attribute>>CustomUserAttributes:"
         "delete_custom_user_attributes", f"B [chain {a}, depth 1]", True),
        ("PRE-EVENT token_list>>CustomUserAttributes:set_custom_user_attributes", "A", True),
    ]  # fmt: skip


def test_an_enrolment_chain_runs_the_token_init_definitions(
    client: TestClient, admin_headers: H, define: DefinitionMaker, services: Services
) -> None:
    define(name="enrol", event="token_list", handlermodule="Token", action="enroll",
           position="pre", chain_events="1", options={"tokentype": "hotp"})  # fmt: skip
    define(name="describe new tokens", event="token_init", handlermodule="Token",
           action="set description", options={"description": "from a chain"},
           conditions={"result_status": "True"})  # fmt: skip
    assert client.get("/token/", headers=admin_headers).status_code == 200
    with services.sessions() as session:
        [new] = session.scalars(select(Token))
        assert new.description == "from a chain"
    chained = {e.action: e for e in entries(services)}[
        "POST-EVENT token_init>>Token:set description"
    ]
    assert chained.serial == new.serial and chained.success


def test_an_attach_chain_runs_the_machine_token_attach_definitions(
    client: TestClient, admin_headers: H, define: DefinitionMaker, services: Services
) -> None:
    factories.ok_value(client.post("/serviceid/git", headers=admin_headers))
    define(name="attach", event="token_init", handlermodule="Token",
           action="attach application", chain_events="1", conditions={"tokentype": "sshkey"},
           options={"application": "ssh", "service_id": "git", "user": "git"})  # fmt: skip
    define(name="count links", event="machine_token_attach", handlermodule="Counter",
           action="increase_counter", options={"counter_name": "links"},
           conditions={"result_status": "True"})  # fmt: skip
    serial = factories.enrol(client, admin_headers, "sshkey", sshkey=keys.ED25519)["serial"]
    assert counter(services, "links") == 1
    chained = {e.action: e for e in entries(services)}
    assert chained["POST-EVENT machine_token_attach>>Counter:increase_counter"].serial == serial


def test_actions_without_a_request_do_not_chain(client: TestClient, admin_headers: H) -> None:
    for module, action, options in (("Token", "set failcounter", {"fail_counter": "0"}),
                                    ("Logging", "logging", {})):  # fmt: skip
        response = factories.save_definition(
            client, admin_headers, name="c", event="token_list", handlermodule=module,
            action=action, options=options, chain_events="1",
        )  # fmt: skip
        assert response.status_code == 400, response.text
        assert "chain_events" in response.json()["result"]["error"]["message"]
    defaults = client.get("/event/defaults/CustomUserAttributes", headers=admin_headers)
    assert set(defaults.json()["result"]["value"]["chained_events"]) == {
        "set_custom_user_attributes", "delete_custom_user_attributes",
    }  # fmt: skip
