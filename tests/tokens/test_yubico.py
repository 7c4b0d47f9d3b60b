"""The ``yubico`` token against a local stand-in of a Yubico validation server
(protocol 2.0, real HMAC-SHA1 signatures and Yubico OTP decryption): signed requests,
answers checked for signature, nonce and OTP, replays refused, the system settings
(``yubico.secret`` stored encrypted, never shown); bad input refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.crypto import SecretBox
from factorflow.db.models import ConfigSetting
from factorflow.tokens.types.yubico import parse_answer, signature
from tests import factories
from tests.tokens.helpers import assert_error, check, get_token, yubikey_otp
from tests.tokens.test_tokentype_condition import (
    test_tokentype_condition_matches_the_type as tokentype_condition,
)
from tests.tokens.type_adapters import (
    YUBICO_API_KEY,
    YUBICO_PUBLIC,
    YUBIKEY_KEY,
    YUBIKEY_UID,
    yubico_server,
)
from tests.tokens.yubico_server import StandIn

H = dict[str, str]
USER = {"user": "alice", "realm": "realm1"}


@pytest.fixture
def stand_in(client: TestClient, admin_headers: H, flatfile_realm: str) -> StandIn:
    server: StandIn = yubico_server(client, admin_headers)
    server.requests.clear()
    return server


@pytest.fixture
def serial(client: TestClient, admin_headers: H, stand_in: StandIn) -> str:
    detail = factories.enrol(client, admin_headers, "yubico", pin="pin",
                             **{"yubico.tokenid": YUBICO_PUBLIC}, **USER)  # fmt: skip
    return str(detail["serial"])


def login(client: TestClient, usage: int, session: int = 0, public: str = YUBICO_PUBLIC) -> bool:
    otp = yubikey_otp(YUBIKEY_KEY, YUBIKEY_UID, usage=usage, session=session, public_id=public)
    return bool(check(client, **USER, **{"pass": "pin" + otp})["result"]["value"])


def test_the_signature_is_over_the_sorted_pairs_without_h() -> None:
    key = b"k"
    assert signature({"otp": "x", "id": "1", "h": "ignored"}, key) == signature(
        {"id": "1", "otp": "x"}, key
    )
    assert signature({"id": "1", "otp": "x"}, key) != signature({"id": "1", "otp": "y"}, key)
    assert parse_answer("h=a=b\r\nstatus=OK\r\n\r\nbroken\r\n") == {"h": "a=b", "status": "OK"}


def test_a_value_the_server_accepts_is_accepted_once(
    client: TestClient, admin_headers: H, stand_in: StandIn, serial: str
) -> None:
    assert serial.startswith("UBCM")
    token = get_token(client, admin_headers, serial)
    assert token["info"]["yubico.tokenid"] == YUBICO_PUBLIC and token["otplen"] == 44
    assert login(client, 1)
    sent = stand_in.requests[-1]
    assert sent["id"] == "4711" and len(sent["nonce"]) == 32
    assert sent["h"] == signature(sent, YUBICO_API_KEY)
    assert not login(client, 1)  # replay: the server says REPLAYED_OTP
    assert get_token(client, admin_headers, serial)["failcount"] == 0
    assert login(client, 1, session=1) and login(client, 2)
    assert len({r["nonce"] for r in stand_in.requests}) == len(stand_in.requests)


@pytest.mark.parametrize("tamper", ["signature", "nonce", "otp"])
def test_an_answer_that_is_not_the_servers_to_this_request_is_refused(
    client: TestClient, stand_in: StandIn, serial: str, tamper: str
) -> None:
    stand_in.tamper = tamper
    assert not login(client, 1)


def test_values_of_another_key_are_not_sent(
    client: TestClient, stand_in: StandIn, serial: str
) -> None:
    assert not login(client, 1, public="cccccccccccd")
    body = check(client, **USER, **{"pass": "pin" + "x" * 44})
    assert body["result"]["value"] is False
    assert stand_in.requests == []


def test_without_the_api_key_or_with_a_wrong_one_nothing_is_accepted(
    client: TestClient, admin_headers: H, stand_in: StandIn, serial: str
) -> None:
    wrong = {"yubico.secret": "d3Jvbmcta2V5"}  # the server signs with another key
    factories.ok_value(client.post("/system/setConfig", json=wrong, headers=admin_headers))
    assert not login(client, 1)
    assert stand_in.requests[-1]["h"] != signature(stand_in.requests[-1], YUBICO_API_KEY)
    factories.ok_value(client.delete("/system/yubico.secret", headers=admin_headers))
    count = len(stand_in.requests)
    assert not login(client, 2)
    assert len(stand_in.requests) == count  # nothing sent unsigned


def test_an_unreachable_server_is_a_refusal(
    client: TestClient, admin_headers: H, stand_in: StandIn, serial: str
) -> None:
    values = {"yubico.url": "http://127.0.0.1:9/wsapi/2.0/verify"}
    factories.ok_value(client.post("/system/setConfig", json=values, headers=admin_headers))
    assert not login(client, 1)


def test_the_api_key_is_stored_encrypted_and_never_shown(
    client: TestClient, admin_headers: H, stand_in: StandIn, services: Services
) -> None:
    shown: dict[str, Any] = factories.ok_value(client.get("/system/", headers=admin_headers))
    assert shown["yubico.secret"] == "__CRYPTED__" and shown["yubico.id"] == "4711"
    with services.sessions() as session:
        stored = session.scalar(
            select(ConfigSetting.value).where(ConfigSetting.key == "yubico.secret")
        )
    assert SecretBox.is_sealed(stored)


@pytest.mark.parametrize(
    "values",
    [
        {"yubico.url": "ftp://example.net/verify"},
        {"yubico.url": "not a url"},
        {"yubico.secret": "***not base64***"},
        {"yubico.id": ""},
    ],
)
def test_bad_settings_are_refused(
    client: TestClient, admin_headers: H, stand_in: StandIn, values: dict[str, str]
) -> None:
    assert_error(client.post("/system/setConfig", json=values, headers=admin_headers), 400)


@pytest.mark.parametrize(
    "params", [{}, {"yubico.tokenid": "ccccc"}, {"yubico.tokenid": "0123456789ab"}]
)
def test_bad_enrolment_input_is_refused_and_creates_nothing(
    client: TestClient, admin_headers: H, stand_in: StandIn, params: dict[str, str]
) -> None:
    data = {"type": "yubico", "pin": "pin", **USER, **params}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []


def test_a_whole_otp_as_tokenid_keeps_its_public_id(
    client: TestClient, admin_headers: H, stand_in: StandIn
) -> None:
    otp = yubikey_otp(YUBIKEY_KEY, YUBIKEY_UID, usage=1, session=0)
    detail = factories.enrol(client, admin_headers, "yubico", **{"yubico.tokenid": otp}, **USER)
    info = get_token(client, admin_headers, str(detail["serial"]))["info"]
    assert info["yubico.tokenid"] == YUBICO_PUBLIC


def test_tokentype_condition(
    client: TestClient, admin_headers: H, flatfile_realm: str, stand_in: StandIn
) -> None:
    tokentype_condition("yubico", client, admin_headers, flatfile_realm)
