"""Tags are substituted by lookup, never by str.format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.core.compare import parse_date
from factorflow.core.invocation import Actor, Outcome
from factorflow.events.tags import check_template, render, unknown_tags
from tests.events.conftest import DefinitionMaker, add_token, make_facts
from tests.tokens.helpers import get_token, init_token


def test_unknown_tags_are_refused() -> None:
    assert unknown_tags("hello {username} {bogus}") == ["bogus"]
    with pytest.raises(ValueError, match=r"\{bogus\}"):
        check_template("hello {bogus}")
    assert (
        check_template("{user.__class__} {0} { } {now}-3d") == "{user.__class__} {0} { } {now}-3d"
    )


def test_render_is_safe_and_fills_known_tags(services: Services, session: Session) -> None:
    add_token(session, "SPASS1", description="the desc")
    facts = make_facts(
        services,
        session,
        params={"serial": "SPASS1"},
        actor=Actor(role="admin", username="boss"),
        client_ip="10.0.0.7",
        user_agent="privacyidea-cp/2.0 Windows",
        outcome=Outcome(value=True, detail={"pin": "1234", "googleurl": {"value": "otpauth://x"}}),
    )
    text = render(
        "{serial} {tokentype} {tokendescription} {admin} {client_ip} {ua_browser} "
        "[{ua_string}] {pin} {googleurl_value} {user.__class__} {0} {unknown}",
        facts,
    )
    assert text == (
        "SPASS1 spass the desc boss 10.0.0.7 privacyidea-cp [privacyidea-cp/2.0 Windows] 1234 "
        "otpauth://x {user.__class__} {0} {unknown}"
    )


def test_now_tags(services: Services, session: Session) -> None:
    facts = make_facts(services, session)
    facts.now = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    assert parse_date(render("{now}+7d", facts)) == facts.now + timedelta(days=7)
    assert parse_date(render("{now} - 1h", facts)) == facts.now - timedelta(hours=1)
    assert parse_date(render("{current_time}", facts)) == facts.now
    assert render("{date}", facts) == facts.now.astimezone().strftime("%Y-%m-%d")


def test_user_tags(services: Services, session: Session, flatfile_realm: str) -> None:
    facts = make_facts(services, session, params={"user": "alice", "realm": flatfile_realm})
    assert render("{user}|{givenname}|{surname}|{username}|{userrealm}", facts) == (
        "Alice|Alice|Smith|alice|realm1"
    )


def test_realm_in_token_texts_is_the_request_users_realm(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, flatfile_realm: str
) -> None:
    """The Token handler documentation: ``{realm}`` is the realm of the user in the
    request, not the (realm-less) admin's who enrols."""
    define(name="describe", event="token_init", handlermodule="Token", action="set description",
           options={"description": "{username} in {realm} by {admin}"})  # fmt: skip
    define(name="note", event="token_init", handlermodule="Token", action="set tokeninfo",
           options={"key": "enrolled_in", "value": "{realm}/{userrealm}"})  # fmt: skip
    serial = init_token(client, admin_headers, type="spass", pin="1", user="alice",
                        realm=flatfile_realm)["detail"]["serial"]  # fmt: skip
    token = get_token(client, admin_headers, serial)
    assert token["description"] == "alice in realm1 by admin"
    assert token["info"]["enrolled_in"] == "realm1/realm1"


def test_realm_and_admin_elsewhere_are_the_logged_in_principals(
    services: Services, session: Session, flatfile_realm: str
) -> None:
    user = Actor(role="user", username="alice", realm=flatfile_realm)
    facts = make_facts(services, session, actor=user, params={"serial": "X1"})
    facts.inv.rule = "/token/disable/<serial>"
    assert render("{admin}|{realm}|{action}", facts) == "alice|realm1|/token/disable/X1"
    nobody = make_facts(services, session)
    assert render("{admin}|{realm}", nobody) == "|"


def test_every_documented_tag_is_accepted(services: Services, session: Session) -> None:
    text = (
        "{pushurl_value} {pushurl_img} {container_serial} {container_url_value} "
        "{container_url_img} {recipient_givenname} {recipient_surname} {challenge}"
    )
    assert check_template(text) == text
    facts = make_facts(
        services,
        session,
        params={"container_serial": "CONT1"},
        outcome=Outcome(value={"container_url": {"value": "pia://c", "img": "data:x"}},
                        detail={"pushurl": {"value": "otpauth://push", "img": "data:p"}}),
    )  # fmt: skip
    assert render(text, facts) == "otpauth://push data:p CONT1 pia://c data:x   "
