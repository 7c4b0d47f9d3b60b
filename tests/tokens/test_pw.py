"""The ``pw`` token as privacyIDEA 3.14 has it: the password is ``otpkey`` or generated
(``genkey``, ``pw.length``, ``pw.contents``), answered as ``detail.password``,
``otplen`` its length, stored encrypted; PIN + password logs in, more than once."""

from __future__ import annotations

import string

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.crypto import SecretBox
from factorflow.tokens.models import Token
from tests import factories
from tests.tokens.helpers import assert_error, check, get_token
from tests.tokens.test_tokentype_condition import (
    test_tokentype_condition_matches_the_type as tokentype_condition,
)

H = dict[str, str]
USER = {"user": "alice", "realm": "realm1"}


def enrol(client: TestClient, headers: H, **params: str) -> tuple[str, str]:
    detail = factories.enrol(client, headers, "pw", pin="pin", **USER, **params)
    return str(detail["serial"]), str(detail["password"])


def login(client: TestClient, passw: str) -> bool:
    return bool(check(client, **USER, **{"pass": passw})["result"]["value"])


def test_a_given_password_behind_the_pin(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    serial, password = enrol(client, admin_headers, otpkey="Geheim-123", otplen="6")
    assert serial.startswith("PW") and password == "Geheim-123"
    assert get_token(client, admin_headers, serial)["otplen"] == 10  # the password's length
    assert login(client, "pinGeheim-123") and login(client, "pinGeheim-123")  # not one-time
    assert not login(client, "pinGeheim-124") and not login(client, "Geheim-123")
    with services.sessions() as session:
        sealed = session.scalar(select(Token.secret_enc).where(Token.serial == serial))
    assert SecretBox.is_sealed(sealed) and "Geheim" not in str(sealed)


def test_a_generated_password(client: TestClient, admin_headers: H, flatfile_realm: str) -> None:
    serial, password = enrol(client, admin_headers, genkey="1")
    assert len(password) == 12 and password.isalnum()
    assert any(c.isdigit() for c in password) and any(c.isalpha() for c in password)
    assert get_token(client, admin_headers, serial)["otplen"] == 12
    assert login(client, "pin" + password)


@pytest.mark.parametrize(
    ("length", "contents", "alphabet"),
    [("20", "n", string.digits), ("8", "[ab]", "ab"), ("16", "+cn", string.ascii_letters +
     string.digits), ("10", "-s", string.ascii_letters + string.digits)],
)  # fmt: skip
def test_length_and_contents_of_a_generated_password(
    client: TestClient,
    admin_headers: H,
    flatfile_realm: str,
    length: str,
    contents: str,
    alphabet: str,
) -> None:
    _, password = enrol(client, admin_headers, genkey="1",
                        **{"pw.length": length, "pw.contents": contents})  # fmt: skip
    assert len(password) == int(length) and set(password) <= set(alphabet)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"otpkey": "x", "genkey": "1"},
        {"genkey": "1", "pw.length": "0"},
        {"genkey": "1", "pw.contents": "xyz"},
        {"genkey": "1", "pw.length": "1", "pw.contents": "cns"},  # 1 cannot hold 3 classes
        {"otpkey": "x" * 257},
    ],
)
def test_bad_enrolment_input_is_refused_and_creates_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str, params: dict[str, str]
) -> None:
    data = {"type": "pw", "pin": "pin", **USER, **params}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []


def test_tokentype_condition(client: TestClient, admin_headers: H, flatfile_realm: str) -> None:
    tokentype_condition("pw", client, admin_headers, flatfile_realm)
