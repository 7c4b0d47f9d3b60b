"""Bad input on the challenge-response paths: clear answers, audited, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.audit.test_audit import audit_rows
from tests.challenge.conftest import PIN, check, jobs, otp_from_mail
from tests.notify.servers import Recorder
from tests.tokens.helpers import assert_error, get_token, init_token, ok

H = dict[str, str]


def test_unknown_transaction_id_is_rejected_without_a_failure(
    client: TestClient, admin_headers: H, email_token: str
) -> None:
    body = check(client, user="alice", transaction_id="99999999999999999999", **{"pass": "123456"})
    assert body["result"]["authentication"] == "REJECT"
    assert body["detail"]["message"] == "Response did not match the challenge."
    assert get_token(client, admin_headers, email_token)["failcount"] == 0


def test_transaction_id_of_another_user_matches_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str, email_token: str,
    recorder: Recorder, login: Callable[..., str],
) -> None:  # fmt: skip
    init_token(
        client, admin_headers, type="email", email="bob@example.net", pin=PIN, user="bob",
        realm=flatfile_realm,
    )  # fmt: skip
    tid = login("alice")
    otp = otp_from_mail(recorder)
    body = check(client, user="bob", transaction_id=tid, **{"pass": otp})
    assert body["result"]["authentication"] == "REJECT"
    assert body["detail"]["message"] == "Response did not match the challenge."
    # Alice's challenge is still hers to answer.
    body = check(client, user="alice", transaction_id=tid, **{"pass": otp})
    assert body["result"]["authentication"] == "ACCEPT"


def test_missing_email_address_is_an_audited_failure(
    client: TestClient, admin_headers: H, flatfile_realm: str, mail: object, services: Services
) -> None:
    # An unassigned token with a dynamic address has nobody to read it from.
    serial = init_token(client, admin_headers, type="email", dynamic_email="1", pin=PIN)["detail"][
        "serial"
    ]
    r = client.post("/validate/check", data={"serial": serial, "pass": PIN})
    assert r.status_code == 200
    body = r.json()
    assert body["result"]["authentication"] == "REJECT"
    message = body["detail"]["message"]
    assert message == (
        "The PIN was correct, but the email could not be sent: the token has no owner "
        "to read the address from."
    )
    assert jobs(services) == []
    [row] = audit_rows(client, admin_headers, action="POST /validate/check")
    assert row["success"] == 0
    assert row["authentication"] == "REJECT"
    assert row["info"] == message
    assert row["serial"] == serial


def test_trigger_without_address_is_a_400_in_the_audit(
    client: TestClient, admin_headers: H, flatfile_realm: str, mail: object
) -> None:
    serial = init_token(client, admin_headers, type="email", dynamic_email="1", pin=PIN)["detail"][
        "serial"
    ]
    r = client.post("/validate/triggerchallenge", data={"serial": serial}, headers=admin_headers)
    assert_error(r, 400, 401)
    [row] = audit_rows(client, admin_headers, action="POST /validate/triggerchallenge")
    assert row["success"] == 0
    assert "could not be sent" in str(row["info"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Missing parameter: 'email'"),
        ({"email": "not-an-address"}, "Invalid parameter 'email'"),
        ({"email": "a@example.net", "smtp_identifier": "nope"}, "no email configuration 'nope'"),
        ({"email": "x" * 300 + "@example.net"}, "Invalid parameter 'email'"),
    ],
)
def test_email_enrolment_refuses_bad_parameters(
    client: TestClient, admin_headers: H, mail: object, params: dict[str, str], message: str
) -> None:
    r = client.post("/token/init", data={"type": "email", **params}, headers=admin_headers)
    body = assert_error(r, 400, 905)
    assert message in body["result"]["error"]["message"]


def test_sms_enrolment_refuses_a_bad_phone_number(client: TestClient, admin_headers: H) -> None:
    r = client.post(
        "/token/init", data={"type": "sms", "phone": "call me maybe"}, headers=admin_headers
    )
    assert_error(r, 400, 905)


@pytest.mark.parametrize(
    "params",
    [
        {"user": "alice", "transaction_id": "1" * 5000, "pass": "123456"},
        {"user": "alice", "state": "x" * 65, "pass": "123456"},
        {"user": "alice", "transaction_id": "1" * 20, "pass": "9" * 5000},
    ],
)
def test_huge_values_are_parameter_errors(
    client: TestClient, email_token: str, params: dict[str, str]
) -> None:
    assert_error(client.post("/validate/check", data=params), 400, 905)


def test_huge_and_odd_values_elsewhere(
    client: TestClient, admin_headers: H, email_token: str
) -> None:
    assert_error(client.get("/validate/polltransaction/" + "9" * 100), 400, 905)
    r = client.post("/validate/triggerchallenge", data={"user": "a" * 400}, headers=admin_headers)
    assert_error(r, 400, 905)
    body = check(client, user="alice", transaction_id="' OR 1=1 --", **{"pass": "123456"})
    assert body["result"]["authentication"] == "REJECT"
    assert_error(client.get("/validate/polltransaction/%00"), 400, 905)
    odd = ok(client.get("/validate/polltransaction/%C3%A9%25"))
    assert odd["detail"]["challenge_status"] == "pending"


def test_disabled_token_gets_no_challenge(
    client: TestClient, admin_headers: H, services: Services, email_token: str
) -> None:
    ok(client.post(f"/token/disable/{email_token}", headers=admin_headers))
    body = check(client, user="alice", **{"pass": PIN})
    assert body["result"]["authentication"] == "REJECT"
    assert body["detail"]["message"] == "Token is disabled"
    assert jobs(services) == []
