"""SMS token through a local HTTP gateway."""

from __future__ import annotations

from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.challenge.conftest import PIN, add_gateway, check, deliver, jobs, otp_from_sms
from tests.notify.servers import SmsGatewayServer
from tests.tokens.helpers import assert_error, get_token, init_token

H = dict[str, str]


def test_sms_login_through_the_http_gateway(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services,
    sms_gateway: SmsGatewayServer,
) -> None:  # fmt: skip
    add_gateway(services, sms_gateway.url)
    serial = init_token(
        client, admin_headers, type="sms", phone="+49 170 1234567", pin=PIN, user="alice",
        realm=flatfile_realm,
    )["detail"]["serial"]  # fmt: skip
    assert serial.startswith("PISM")
    body = check(client, user="alice", **{"pass": PIN})
    assert body["result"]["authentication"] == "CHALLENGE"
    assert body["detail"]["multi_challenge"][0]["type"] == "sms"
    assert body["detail"]["message"] == "Enter the OTP from the SMS"
    tid = body["detail"]["transaction_id"]
    assert deliver(services) == 1
    [request] = sms_gateway.requests
    assert request.form["to"] == "+49 170 1234567"
    assert request.headers["idempotency-key"] == f"challenge:{tid}:{serial}"
    answer = check(client, user="alice", transaction_id=tid, **{"pass": otp_from_sms(sms_gateway)})
    assert answer["result"]["authentication"] == "ACCEPT"
    assert get_token(client, admin_headers, serial)["info"]["phone"] == "+49 170 1234567"


def test_dynamic_phone_uses_the_mobile_attribute(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services,
    sms_gateway: SmsGatewayServer,
) -> None:  # fmt: skip
    add_gateway(services, sms_gateway.url)
    init_token(
        client, admin_headers, type="sms", dynamic_phone="true", pin=PIN, user="bob",
        realm=flatfile_realm,
    )  # fmt: skip
    check(client, user="bob", **{"pass": PIN})
    deliver(services)
    assert sms_gateway.requests[-1].form["to"] == "+4917222"


def test_dynamic_phone_without_a_mobile_number_is_a_clear_reject(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services,
    sms_gateway: SmsGatewayServer,
) -> None:  # fmt: skip
    add_gateway(services, sms_gateway.url)
    serial = init_token(
        client, admin_headers, type="sms", dynamic_phone="1", pin=PIN, user="carol",
        realm=flatfile_realm,
    )["detail"]["serial"]  # fmt: skip
    body = check(client, user="carol", **{"pass": PIN})
    assert body["result"]["authentication"] == "REJECT"
    assert body["detail"]["message"] == (
        "The PIN was correct, but the SMS could not be sent: the user's 'mobile' attribute "
        "is empty."
    )
    assert body["detail"]["serial"] == serial
    assert jobs(services) == []
    # A configuration problem, not a guess: no failure counted.
    assert get_token(client, admin_headers, serial)["failcount"] == 0
    # exception=1 turns it into an error, as privacyIDEA's clients may ask.
    r = client.post("/validate/check", data={"user": "carol", "pass": PIN, "exception": "1"})
    assert_error(r, 400, 401)


def test_no_gateway_configured(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    init_token(
        client, admin_headers, type="sms", phone="+4917012345", pin=PIN, user="alice",
        realm=flatfile_realm,
    )  # fmt: skip
    body = check(client, user="alice", **{"pass": PIN})
    assert body["detail"]["message"].endswith("no SMS configuration exists.")
    r = client.post("/validate/triggerchallenge", data={"user": "alice"}, headers=admin_headers)
    body = assert_error(r, 400, 401)
    assert "no SMS configuration exists" in body["result"]["error"]["message"]
