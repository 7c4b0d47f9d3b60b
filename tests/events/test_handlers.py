"""Every handler action, run directly against the database."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.bootstrap import Services
from factorflow.core.invocation import Actor, ErrorReply, Outcome, Reply
from factorflow.events.definition import compile_options
from factorflow.events.errors import ActionError, DefinitionError
from factorflow.events.facts import Facts
from factorflow.events.handlers.base import ActionContext
from factorflow.events.handlers.counter import counter_total
from factorflow.events.models import EventCounter
from factorflow.tokens.info import get_info, parse_validity, set_info
from factorflow.tokens.models import Token, TokenGroup
from factorflow.users.models import CustomUserAttribute
from tests.events.conftest import add_token, make_facts

ALICE = ("realm1", "resolver1", "1000")


def run(
    services: Services, facts: Facts, module: str, action: str, **options: Any
) -> ActionContext:
    handler = services.events.handlers[module]
    _, model = compile_options(handler, action, options)
    ctx = ActionContext(services.action_ports, facts.session, facts.inv, facts, "test", "post")
    handler.run(ctx, action, model)
    facts.session.flush()
    return ctx


def token(session: Session, serial: str) -> Token:
    session.expire_all()
    row = session.scalar(select(Token).where(Token.serial == serial))
    assert row is not None
    return row


def test_handler_modules_and_entry_points(services: Services) -> None:
    assert set(services.events.handlers) == {
        "Counter", "CustomUserAttributes", "Logging", "RequestMangler", "ResponseMangler",
        "Federation", "Script", "Token", "UserNotification", "WebHook",
    }  # fmt: skip
    assert services.events.handlers["ResponseMangler"].positions == ("post",)


# -- Counter ---------------------------------------------------------------------------


def test_counter_actions(services: Services, session: Session) -> None:
    facts = make_facts(services, session)
    session.add(EventCounter(counter_name="c", node="othernode", value=2))
    session.flush()
    for _ in range(3):
        run(services, facts, "Counter", "increase_counter", counter_name="c")
    assert counter_total(session, "c") == 5
    rows = {r.node: r.value for r in session.scalars(select(EventCounter))}
    assert rows == {"othernode": 2, "testnode": 3}  # this node writes only its own row
    run(services, facts, "Counter", "decrease_counter", counter_name="c")
    assert counter_total(session, "c") == 4
    run(services, facts, "Counter", "reset_counter", counter_name="c")
    assert counter_total(session, "c") == 0
    run(services, facts, "Counter", "decrease_counter", counter_name="c")
    assert counter_total(session, "c") == 0  # no negative values unless allowed
    run(services, facts, "Counter", "decrease_counter", counter_name="c",
        allow_negative_values="True")  # fmt: skip
    assert counter_total(session, "c") == -1
    run(services, facts, "Counter", "reset_counter", counter_name="new")
    assert session.scalar(select(EventCounter).where(EventCounter.counter_name == "new"))


# -- Logging ---------------------------------------------------------------------------


def test_logging(services: Services, session: Session, caplog: pytest.LogCaptureFixture) -> None:
    facts = make_facts(services, session, client_ip="10.9.9.9")
    with caplog.at_level(logging.DEBUG, logger="audit-events"):
        run(services, facts, "Logging", "logging", name="audit-events", level="WARNING",
            message="from {client_ip} {user.__class__}")  # fmt: skip
    record = next(r for r in caplog.records if r.name == "audit-events")
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "from 10.9.9.9 {user.__class__}"
    with caplog.at_level(logging.INFO, logger="pi-eventlogger"):
        run(services, facts, "Logging", "logging")
    assert any(r.getMessage() == "event=/validate/check triggered" for r in caplog.records)


# -- RequestMangler ----------------------------------------------------------------------


def test_request_mangler(services: Services, session: Session, flatfile_realm: str) -> None:
    facts = make_facts(services, session, params={"user": "alice@realm1", "pass": "x", "a": "1"})
    run(services, facts, "RequestMangler", "delete", parameter="a")
    assert "a" not in facts.params
    run(services, facts, "RequestMangler", "set", parameter="realm", value="{1}",
        match_parameter="user", match_pattern="(.*)@(.*)")  # fmt: skip
    assert facts.params["realm"] == "realm1"
    ctx = run(services, facts, "RequestMangler", "set", parameter="realm", value="{3}",
              match_parameter="user", match_pattern="(.*)@(.*)")  # fmt: skip
    assert ctx.run_details == "too few match groups" and facts.params["realm"] == "realm1"
    run(services, facts, "RequestMangler", "set", parameter="x", value="{0}",
        match_parameter="user", match_pattern="bob")  # fmt: skip
    assert "x" not in facts.params
    assert facts.user is not None and facts.user.login == "alice"
    run(services, facts, "RequestMangler", "set", parameter="user", value="bob", reset_user="1")
    assert facts.user is not None and facts.user.login == "bob"


# -- ResponseMangler ---------------------------------------------------------------------


def test_response_mangler(services: Services, session: Session) -> None:
    facts = make_facts(
        services, session, outcome=Outcome(value=True, detail={"message": "m", "serial": "S"})
    )
    run(services, facts, "ResponseMangler", "delete", **{"JSON pointer": "/detail/message"})
    run(services, facts, "ResponseMangler", "set",
        **{"JSON pointer": "/detail/extra/n", "type": "integer", "value": "42"})  # fmt: skip
    run(services, facts, "ResponseMangler", "set",
        **{"JSON pointer": "/result/value", "type": "bool", "value": "false"})  # fmt: skip
    assert facts.reply is not None and facts.reply.outcome is not None
    assert facts.reply.outcome.detail == {"serial": "S", "extra": {"n": 42}}
    assert facts.reply.outcome.value is False
    ctx = run(services, facts, "ResponseMangler", "delete", **{"JSON pointer": "/detail/nope"})
    assert ctx.run_details == "no such element"
    with pytest.raises(ActionError):
        run(services, make_facts(services, session), "ResponseMangler", "delete",
            **{"JSON pointer": "/detail/message"})  # fmt: skip
    err = make_facts(services, session,
                     reply=Reply(error=ErrorReply(code=904, message="secret", status=400)))  # fmt: skip
    run(services, err, "ResponseMangler", "set",
        **{"JSON pointer": "/result/error/message", "type": "string", "value": "nope"})  # fmt: skip
    assert err.reply is not None and err.reply.error is not None
    assert (err.reply.error.message, err.reply.error.status) == ("nope", 400)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"JSON pointer": "/a/b/c/d"}, "JSON pointer"),
        ({"JSON pointer": "/version"}, "JSON pointer"),
        ({"JSON pointer": "/detail/x", "type": "float", "value": "1"}, "type"),
    ],
)
def test_response_mangler_options_are_checked(
    services: Services, options: dict[str, str], field: str
) -> None:
    handler = services.events.handlers["ResponseMangler"]
    action = "set" if "type" in options else "delete"
    with pytest.raises(DefinitionError, match=field):
        compile_options(handler, action, options)


# -- Token -----------------------------------------------------------------------------


def test_token_actions_fail_without_serial(services: Services, session: Session) -> None:
    with pytest.raises(ActionError, match="No token serials"):
        run(services, make_facts(services, session), "Token", "disable")


def test_token_simple_actions(services: Services, session: Session, flatfile_realm: str) -> None:
    add_token(session, "T1", owner=ALICE, failcount=2, pin_hash="x")
    facts = make_facts(services, session, params={"serial": "T1"})
    run(services, facts, "Token", "disable")
    assert token(session, "T1").active is False
    run(services, facts, "Token", "enable")
    assert token(session, "T1").active is True
    run(services, facts, "Token", "set countwindow", **{"count window": "77"})
    run(services, facts, "Token", "set max failcount", **{"max failcount": "5"})
    run(services, facts, "Token", "set failcounter", **{"fail counter": "4"})
    row = token(session, "T1")
    assert (row.count_window, row.maxfail, row.failcount) == (77, 5, 4)
    run(services, facts, "Token", "change failcounter", **{"change fail counter": "-6"})
    assert token(session, "T1").failcount == -2  # privacyIDEA does not clamp
    run(services, facts, "Token", "unassign")
    row = token(session, "T1")
    assert (row.owner, row.pin_hash, row.failcount) == (None, "", 0)
    run(services, make_facts(services, session, params={"serial": "T1"}), "Token", "delete")
    session.expire_all()
    assert session.scalar(select(Token).where(Token.serial == "T1")) is None


def test_token_texts_and_tokeninfo(
    services: Services, session: Session, flatfile_realm: str
) -> None:
    add_token(session, "T2", owner=ALICE)
    facts = make_facts(services, session, params={"serial": "T2"})
    run(services, facts, "Token", "set description",
        description="for {givenname} ({username}) {now}+7d {user.__class__}")  # fmt: skip
    desc = token(session, "T2").description
    assert desc.startswith("for Alice (alice) ") and desc.endswith(" {user.__class__}")
    run(services, facts, "Token", "set tokeninfo", key="locked", value="{now}")
    assert get_info(token(session, "T2"), "locked").startswith(str(datetime.now(UTC).year))
    run(services, facts, "Token", "increase tokeninfo", key="n", increment="+5")
    run(services, facts, "Token", "increase tokeninfo", key="n", increment="-2")
    assert get_info(token(session, "T2"), "n") == "3"
    run(services, facts, "Token", "delete tokeninfo", key="n")
    assert get_info(token(session, "T2"), "n", "gone") == "gone"
    set_info(token(session, "T2"), "word", "abc")
    with pytest.raises(ActionError):
        run(services, facts, "Token", "increase tokeninfo", key="word")


def test_token_validity(services: Services, session: Session) -> None:
    add_token(session, "T3")
    facts = make_facts(services, session, params={"serial": "T3"})
    run(services, facts, "Token", "set validity",
        **{"valid from": "2016/12/23", "valid till": "+10d"})  # fmt: skip
    row = token(session, "T3")
    assert parse_validity(get_info(row, "validity_period_start")) == datetime(
        2016, 12, 23, tzinfo=UTC
    )
    end = parse_validity(get_info(row, "validity_period_end"))
    assert abs(end - (datetime.now(UTC) + timedelta(days=10))) < timedelta(minutes=2)
    with pytest.raises(DefinitionError, match="valid till"):
        compile_options(services.events.handlers["Token"], "set validity", {"valid till": "soon"})


def test_token_realms_and_groups(services: Services, session: Session, flatfile_realm: str) -> None:
    services.users.save_realm(session, "storage", ["resolver1"])
    session.add(TokenGroup(name="g1"))
    add_token(session, "T4", realms=("realm1",))
    facts = make_facts(services, session, params={"serial": "T4"})
    run(services, facts, "Token", "set tokenrealm", realm="storage")
    assert {r.realm.name for r in token(session, "T4").realms} == {"realm1", "storage"}
    run(services, facts, "Token", "set tokenrealm", realm="storage", only_realm="True")
    assert {r.realm.name for r in token(session, "T4").realms} == {"storage"}
    with pytest.raises(ActionError):
        run(services, facts, "Token", "set tokenrealm", realm="nowhere")
    run(services, facts, "Token", "add tokengroup", tokengroup="g1")
    run(services, facts, "Token", "add tokengroup", tokengroup="g1")
    assert [m.group.name for m in token(session, "T4").groups] == ["g1"]
    run(services, facts, "Token", "remove tokengroup", tokengroup="g1")
    assert token(session, "T4").groups == []
    with pytest.raises(ActionError):
        run(services, facts, "Token", "add tokengroup", tokengroup="nogroup")


def test_token_random_pin(services: Services, session: Session) -> None:
    add_token(session, "T5")
    facts = make_facts(services, session, params={"serial": "T5"}, outcome=Outcome(value=True))
    run(services, facts, "Token", "set random pin", length="12")
    assert facts.reply is not None and facts.reply.outcome is not None
    pin = facts.reply.outcome.detail["pin"]
    assert len(pin) == 12 and pin.isalnum()
    assert services.hasher.verify(token(session, "T5").pin_hash, pin)
    with pytest.raises(ActionError):  # pre position: no response to carry the PIN
        run(services, make_facts(services, session, params={"serial": "T5"}), "Token",
            "set random pin")  # fmt: skip


def test_token_enable_obeys_revocation(services: Services, session: Session) -> None:
    """A definition cannot undo what /token/revoke did, as /token/enable cannot."""
    add_token(session, "T6", active=False, revoked=True, locked=True)
    facts = make_facts(services, session, params={"serial": "T6"})
    with pytest.raises(ActionError, match="revoked"):
        run(services, facts, "Token", "enable")
    assert token(session, "T6").active is False


def test_token_random_pin_obeys_the_pin_rules_of_the_type(
    services: Services, session: Session
) -> None:
    """``set random pin`` goes through the help desk's use case: a PIN-less type is
    refused, and a new PIN fulfils ``next_pin_change``."""
    add_token(session, "T7", tokentype="hotp")
    set_info(token(session, "T7"), "next_pin_change", "2020-01-01T00:00+0000")
    facts = make_facts(services, session, params={"serial": "T7"}, outcome=Outcome(value=True))
    run(services, facts, "Token", "set random pin", length="8")
    assert get_info(token(session, "T7"), "next_pin_change", "none") == "none"
    add_token(session, "T8", tokentype="registration")
    facts = make_facts(services, session, params={"serial": "T8"}, outcome=Outcome(value=True))
    with pytest.raises(ActionError, match="no PIN"):
        run(services, facts, "Token", "set random pin", length="8")
    assert token(session, "T8").pin_hash == ""


# -- CustomUserAttributes ----------------------------------------------------------------


def test_custom_user_attributes(services: Services, session: Session, flatfile_realm: str) -> None:
    facts = make_facts(services, session, params={"user": "alice", "realm": "realm1"},
                       client_ip="10.0.0.1")  # fmt: skip
    run(services, facts, "CustomUserAttributes", "set_custom_user_attributes",
        user="tokenowner", attrkey="seen_from", attrvalue="{client_ip}")  # fmt: skip
    row = session.scalar(select(CustomUserAttribute).where(CustomUserAttribute.key == "seen_from"))
    assert row is not None and (row.user_id, row.value) == ("1000", "10.0.0.1")
    run(services, facts, "CustomUserAttributes", "delete_custom_user_attributes",
        user="tokenowner", attrkey="seen_from")  # fmt: skip
    assert session.scalar(select(CustomUserAttribute)) is None
    me = make_facts(services, session, actor=Actor(role="user", username="bob", realm="realm1"))
    run(services, me, "CustomUserAttributes", "set_custom_user_attributes",
        user="logged_in_user", attrkey="k", attrvalue="v")  # fmt: skip
    row = session.scalar(select(CustomUserAttribute).where(CustomUserAttribute.key == "k"))
    assert row is not None and row.user_id == "1001"
    with pytest.raises(ActionError):
        run(services, make_facts(services, session), "CustomUserAttributes",
            "set_custom_user_attributes", attrkey="k")  # fmt: skip


def test_enroll_failures(services: Services, session: Session, flatfile_realm: str) -> None:
    facts = make_facts(services, session)
    with pytest.raises(ActionError, match="not installed"):
        run(services, facts, "Token", "enroll", tokentype="nosuchtype")
    with pytest.raises(ActionError, match="no user"):
        run(services, facts, "Token", "enroll", tokentype="hotp", user="1")
    ctx = run(services, facts, "Token", "enroll", tokentype="hotp", realm="realm1")
    enrolled = token(session, ctx.run_details)
    assert enrolled.tokentype == "hotp" and [r.realm.name for r in enrolled.realms] == ["realm1"]
