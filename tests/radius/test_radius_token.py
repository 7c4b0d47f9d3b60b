"""The radius token against a real FreeRADIUS (tests/radius/freeradius.py): the whole
pass forwarded for the owner, or the PIN checked here and the OTP forwarded; a server
that does not answer fails the check with a log line, never the request."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from tests import factories
from tests.radius.conftest import add_radius_server
from tests.radius.freeradius import (
    CHALLENGE_ANSWER,
    CHALLENGE_MESSAGE,
    CHALLENGE_USER,
    USERS,
    FreeRadius,
    free_udp_port,
)
from tests.tokens.helpers import assert_error, check, get_token, init_token

H = dict[str, str]


@pytest.fixture
def radius_server(
    client: TestClient, admin_headers: H, flatfile_realm: str, freeradius: FreeRadius
) -> str:
    add_radius_server(client, admin_headers, "rad1", freeradius.port)
    return "rad1"


def enrol(client: TestClient, headers: H, user: str = "alice", **params: str) -> str:
    body = init_token(client, headers, type="radius", user=user, realm="realm1",
                      **{"radius.identifier": "rad1", **params})  # fmt: skip
    return str(body["detail"]["serial"])


def test_the_whole_pass_goes_to_the_radius_server_for_the_owner(
    client: TestClient, admin_headers: H, radius_server: str
) -> None:
    serial = enrol(client, admin_headers, pin="ignored-here")
    token = get_token(client, admin_headers, serial)
    assert serial.startswith("PIRA")
    assert token["info"]["radius.identifier"] == "rad1"
    assert token["info"]["radius.local_checkpin"] == "0"
    assert token["info"]["tokenkind"] == "virtual"
    # radius.user empty: the User-Name is the owner's login; the RADIUS server has the
    # password, the PIN set here plays no part.
    body = check(client, user="alice", realm="realm1", **{"pass": USERS["alice"]})
    assert body["result"]["value"] is True and body["result"]["authentication"] == "ACCEPT"
    assert body["detail"]["serial"] == serial
    body = check(client, user="alice", realm="realm1", **{"pass": "ignored-here" + USERS["alice"]})
    assert body["result"]["value"] is False
    assert get_token(client, admin_headers, serial)["failcount"] == 1
    body = check(client, serial=serial, **{"pass": USERS["alice"]})
    assert body["result"]["value"] is True
    assert get_token(client, admin_headers, serial)["failcount"] == 0


def test_radius_user_names_another_account(
    client: TestClient, admin_headers: H, radius_server: str
) -> None:
    enrol(client, admin_headers, user="carol", **{"radius.user": "bob"})
    assert check(client, user="carol", realm="realm1", **{"pass": USERS["bob"]})["result"]["value"]
    body = check(client, user="carol", realm="realm1", **{"pass": USERS["alice"]})
    assert body["result"]["value"] is False


def test_a_local_pin_is_checked_here_and_only_the_otp_forwarded(
    client: TestClient, admin_headers: H, radius_server: str, freeradius: FreeRadius
) -> None:
    serial = enrol(client, admin_headers, user="bob", pin="pin1",
                   **{"radius.local_checkpin": "1"})  # fmt: skip
    assert get_token(client, admin_headers, serial)["info"]["radius.local_checkpin"] == "1"
    before = freeradius.output().count("Received Access-Request")
    body = check(client, user="bob", realm="realm1", **{"pass": "pinX" + USERS["bob"]})
    assert body["result"]["value"] is False
    assert body["detail"]["message"] == "wrong otp pin"
    # A wrong PIN asks nobody.
    assert freeradius.output().count("Received Access-Request") == before
    body = check(client, user="bob", realm="realm1", **{"pass": "pin1" + USERS["bob"]})
    assert body["result"]["value"] is True
    body = check(client, user="bob", realm="realm1", **{"pass": "pin1000000"})
    assert body["result"]["value"] is False
    assert body["detail"]["message"] == "wrong otp value"


def test_a_server_that_does_not_answer_fails_the_check_with_a_log_line(
    client: TestClient,
    admin_headers: H,
    flatfile_realm: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_radius_server(client, admin_headers, "rad1", free_udp_port(), timeout=1)
    serial = enrol(client, admin_headers)
    with caplog.at_level(logging.WARNING, logger="factorflow.tokens.types.forwarding"):
        response = client.post("/validate/check",
                               data={"user": "alice", "realm": "realm1", "pass": USERS["alice"]})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["result"]["value"] is False
    assert get_token(client, admin_headers, serial)["failcount"] == 1
    logged = caplog.text
    assert serial in logged and "'rad1'" in logged and "no valid answer" in logged
    assert USERS["alice"] not in logged
    # Its configuration deleted: the same, naming the missing server.
    factories.ok_value(client.delete("/radiusserver/rad1", headers=admin_headers))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="factorflow.tokens.types.forwarding"):
        body = check(client, user="alice", realm="realm1", **{"pass": USERS["alice"]})
    assert body["result"]["value"] is False
    assert "There is no RADIUS server 'rad1'" in caplog.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"radius.identifier": ""}, "radius.identifier"),
        ({"radius.identifier": "nope"}, "radius.identifier"),
        ({"radius.user": "x" * 300}, "radius.user"),
        ({"otplen": "0"}, "otplen"),
    ],
)
def test_bad_enrolment_is_refused_and_stores_nothing(
    client: TestClient, admin_headers: H, radius_server: str, params: dict[str, str], field: str
) -> None:
    data = {"type": "radius", "user": "alice", "realm": "realm1",
            "radius.identifier": "rad1", **params}  # fmt: skip
    body = assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert field.rsplit(".", maxsplit=1)[-1] in body["result"]["error"]["message"]
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []


def test_types_list_offers_the_configured_radius_servers(
    client: TestClient, admin_headers: H, radius_server: str
) -> None:
    types = factories.ok_value(client.get("/token/types/", headers=admin_headers))
    assert "rad1" in str(types["radius"]["options"]), types["radius"]


def test_an_access_challenge_is_passed_through_with_its_state(
    client: TestClient, admin_headers: H, radius_server: str, freeradius: FreeRadius
) -> None:
    """FreeRADIUS answers user ``chal`` with an Access-Challenge first and accepts
    CHALLENGE_ANSWER only with the State of that challenge."""
    serial = enrol(client, admin_headers, user="carol", **{"radius.user": CHALLENGE_USER})
    body = check(client, user="carol", realm="realm1", **{"pass": "first"})
    assert body["result"]["value"] is False
    assert body["result"]["authentication"] == "CHALLENGE"
    detail = body["detail"]
    assert detail["message"] == CHALLENGE_MESSAGE
    assert detail["serial"] == serial and detail["type"] == "radius"
    transaction_id = detail["transaction_id"]
    assert [c["serial"] for c in detail["multi_challenge"]] == [serial]
    body = check(client, user="carol", realm="realm1", transaction_id=transaction_id,
                 **{"pass": CHALLENGE_ANSWER})  # fmt: skip
    assert body["result"]["value"] is True and body["result"]["authentication"] == "ACCEPT"
    # Answered once: the same transaction is not asked again.
    body = check(client, user="carol", realm="realm1", transaction_id=transaction_id,
                 **{"pass": CHALLENGE_ANSWER})  # fmt: skip
    assert body["result"]["value"] is False
    # A wrong answer (forwarded with the State) fails and counts.
    transaction_id = check(client, user="carol", realm="realm1", **{"pass": "again"})["detail"][
        "transaction_id"
    ]
    body = check(client, user="carol", realm="realm1", transaction_id=transaction_id,
                 **{"pass": "0000"})  # fmt: skip
    assert body["result"]["value"] is False and body["result"]["authentication"] == "REJECT"
    assert get_token(client, admin_headers, serial)["failcount"] == 1
    assert "State = 0x73746174652d31" in freeradius.output()
