"""The ``4eyes`` token: two users' real HOTP tokens (RFC 4226 vectors) in one pass,
in any order, each token counted once, across realms; a pass that falls short claims
no member's OTP; replays refused; the ``tokentype`` condition; bad enrolment input
refused with nothing stored."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests import factories
from tests.tokens.helpers import RFC4226_OTPS, assert_error, check, get_token, hotp
from tests.tokens.test_tokentype_condition import (
    test_tokentype_condition_matches_the_type as tokentype_condition,
)

H = dict[str, str]
ADMIN = {"user": "alice", "realm": "realm1"}
BOB_KEY = bytes.fromhex("3132" * 10)


@pytest.fixture
def members(client: TestClient, admin_headers: H, flatfile_realm: str) -> dict[str, str]:
    """bob (RFC 4226's key) and carol (another key) with HOTP tokens in realm1."""
    serials = {}
    for login, key in (
        ("bob", "3132333435363738393031323334353637383930"),
        ("carol", BOB_KEY.hex()),
    ):
        detail = factories.enrol(client, admin_headers, "hotp", user=login, realm="realm1",
                                 pin=f"{login}-pin", otpkey=key)  # fmt: skip
        serials[login] = str(detail["serial"])
    return serials


def four_eyes(client: TestClient, headers: H, **params: str) -> str:
    detail = factories.enrol(client, headers, "4eyes", **ADMIN, **params)
    return str(detail["serial"])


def login(client: TestClient, passw: str) -> bool:
    return bool(check(client, **ADMIN, **{"pass": passw})["result"]["value"])


def bob(n: int) -> str:
    return "bob-pin" + RFC4226_OTPS[n]


def carol(n: int) -> str:
    return "carol-pin" + hotp(n, BOB_KEY)


def test_two_users_tokens_in_one_pass_in_any_order(
    client: TestClient, admin_headers: H, members: dict[str, str]
) -> None:
    serial = four_eyes(client, admin_headers, **{"4eyes": "realm1:2"})
    assert serial.startswith("PI4E")
    info = get_token(client, admin_headers, serial)["info"]
    assert (info["4eyes"], info["separator"], info["tokenkind"]) == ("realm1:2", " ", "virtual")
    assert login(client, f"{bob(0)} {carol(0)}")
    assert not login(client, f"{bob(0)} {carol(0)}")  # replay: both OTPs were used
    assert login(client, f"{carol(1)} {bob(1)}")  # the other order
    assert get_token(client, admin_headers, members["bob"])["count"] == 2


def test_one_user_alone_or_one_token_twice_is_not_enough(
    client: TestClient, admin_headers: H, members: dict[str, str]
) -> None:
    serial = four_eyes(client, admin_headers, **{"4eyes": "realm1:2"})
    assert not login(client, bob(0))
    assert not login(client, f"{bob(0)} {bob(1)}")  # the same token twice
    assert not login(client, f"{bob(0)} carol-pin000000")
    assert get_token(client, admin_headers, serial)["failcount"] == 3
    # Nothing of the refused passes was claimed: bob's first OTP still logs bob in.
    body = check(client, user="bob", realm="realm1", **{"pass": bob(0)})
    assert body["result"]["value"] is True
    assert get_token(client, admin_headers, members["bob"])["failcount"] == 0


def test_a_separator_and_two_realms(
    client: TestClient, admin_headers: H, members: dict[str, str]
) -> None:
    # carol's token is in realm2 as well (a token realm): one token of each realm.
    factories.add_realm(client, admin_headers, "realm2", "resolver1")
    response = client.post(
        f"/token/realm/{members['carol']}", data={"realms": "realm1,realm2"}, headers=admin_headers
    )
    factories.ok_value(response)
    four_eyes(client, admin_headers, **{"4eyes": "realm1:1,realm2:1", "separator": "|"})
    assert not login(client, f"{bob(0)} {carol(0)}")  # a blank is no separator here
    assert login(client, f"{bob(0)}|{carol(0)}")
    assert not login(client, f"{bob(1)}|{bob(2)}")  # bob's token is not in realm2


def test_the_web_uis_realm_object_is_accepted(
    client: TestClient, admin_headers: H, members: dict[str, str]
) -> None:
    realms = '{"realm1": {"selected": true, "count": 2}, "other": {"selected": false}}'
    serial = four_eyes(client, admin_headers, **{"4eyes": realms})
    assert get_token(client, admin_headers, serial)["info"]["4eyes"] == "realm1:2"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"4eyes": "realm1"},
        {"4eyes": "realm1:0"},
        {"4eyes": "realm1:x"},
        {"4eyes": "realm1:1,realm1:2"},
        {"4eyes": "nosuchrealm:1"},
        {"4eyes": "realm1:2", "separator": "||"},
        {"4eyes": "[1, 2]"},
    ],
)
def test_bad_enrolment_input_is_refused_and_creates_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str, params: dict[str, str]
) -> None:
    data = {"type": "4eyes", **ADMIN, **params}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []


def test_tokentype_condition(client: TestClient, admin_headers: H, flatfile_realm: str) -> None:
    tokentype_condition("4eyes", client, admin_headers, flatfile_realm)
