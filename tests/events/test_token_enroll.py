"""Token ``enroll``: privacyIDEA's options (dynamic_email / dynamic_phone, smtp_identifier
/ sms_identifier) and its documentation's ``additional_params`` example, through the
same enrolment use case as /token/init."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.tokens.models import Token
from tests import factories
from tests.events.conftest import DefinitionMaker
from tests.tokens.helpers import get_token


def enrol_on_auth(define: DefinitionMaker, **options: str) -> None:
    """Enrol a token for the user who logs in (``auth``, post)."""
    define(name="enrol", event="auth", handlermodule="Token", action="enroll",
           options={"user": "True", **options})  # fmt: skip


def log_in(client: TestClient, login: str = "alice") -> None:
    from tests.conftest import USER_PASSWORDS

    response = client.post("/auth", data={"username": f"{login}@realm1",
                                          "password": USER_PASSWORDS[login]})  # fmt: skip
    assert response.status_code == 200, response.text


def tokens_of(client: TestClient, headers: dict[str, str], login: str = "alice") -> list[Any]:
    body = client.get("/token/", params={"user": login, "realm": "realm1"}, headers=headers)
    return list(body.json()["result"]["value"]["tokens"])


def add_smtp(client: TestClient, headers: dict[str, str], name: str) -> None:
    factories.add_smtp_server(client, headers, name, 2525)


def add_gateway(client: TestClient, headers: dict[str, str], name: str) -> None:
    factories.add_sms_gateway(client, headers, name, "http://127.0.0.1:9/send")


def test_the_documented_additional_params_example(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker,
    flatfile_realm: str, services: Services,
) -> None:  # fmt: skip
    example = {"hashlib": "sha256", "type": "totp", "genkey": 0, "otpkey": "31323334"}
    enrol_on_auth(define, tokentype="totp", additional_params=json.dumps(example))
    log_in(client)
    (token,) = tokens_of(client, admin_headers)
    assert token["tokentype"] == "totp" and token["info"]["hashlib"] == "sha256"
    with services.sessions() as session:
        row = session.scalar(select(Token).where(Token.serial == token["serial"]))
        assert row is not None
        assert services.tokens.type_of(row).load_secret() == bytes.fromhex("31323334")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"tokentype": "email", "dynamic_email": "True", "smtp_identifier": "mail2"},
         {"dynamic_email": "True", "email": "", "email.identifier": "mail2"}),
        ({"tokentype": "email"},
         {"dynamic_email": "False", "email": "alice@example.com", "email.identifier": ""}),
        ({"tokentype": "sms", "dynamic_phone": "True", "sms_identifier": "gw2"},
         {"dynamic_phone": "True", "phone": "", "sms.identifier": "gw2"}),
        ({"tokentype": "sms"},
         {"dynamic_phone": "False", "phone": "+4917111", "sms.identifier": ""}),
    ],
)  # fmt: skip
def test_sms_and_email_tokens_get_their_address_and_configuration(
    client: TestClient,
    admin_headers: dict[str, str],
    define: DefinitionMaker,
    flatfile_realm: str,
    options: dict[str, str],
    expected: dict[str, str],
) -> None:
    """Dynamic: read from the user store at each authentication (no address stored);
    otherwise the user's address, copied once; the named SMTP server / SMS gateway, or
    none (the default)."""
    add_smtp(client, admin_headers, "mail2")
    add_gateway(client, admin_headers, "gw2")
    enrol_on_auth(define, **options)
    log_in(client)
    (token,) = tokens_of(client, admin_headers)
    info = get_token(client, admin_headers, token["serial"])["info"]
    assert {key: info[key] for key in expected} == expected


def test_a_configuration_that_does_not_exist_is_refused_on_save(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    for option in ("smtp_identifier", "sms_identifier"):
        data = {"name": "e", "event": "auth", "handlermodule": "Token", "action": "enroll",
                "option.tokentype": "email", f"option.{option}": "nowhere"}  # fmt: skip
        response = client.post("/event", data=data, headers=admin_headers)
        assert response.status_code == 400 and option in response.text, response.text


def test_an_motp_token_gets_its_motppin(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker,
    flatfile_realm: str, services: Services,
) -> None:  # fmt: skip
    enrol_on_auth(define, tokentype="motp", motppin="4711")
    log_in(client)
    (token,) = tokens_of(client, admin_headers)
    assert token["tokentype"] == "motp" and token["serial"].startswith("PIMO")
    with services.sessions() as session:
        row = session.scalar(select(Token).where(Token.serial == token["serial"]))
        assert row is not None
        assert json.loads(services.tokens.type_of(row).load_secret())["pin"] == "4711"
