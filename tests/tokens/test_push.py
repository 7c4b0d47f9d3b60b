"""The push token over HTTP with a simulated phone doing real RSA (tests/tokens/push_phone.py):
two-step enrolment, poll-only challenges, accept, decline, /validate/polltransaction,
and the refusals — a wrong key, a stale timestamp, a replayed or expired answer,
undecodable registration data — each a refusal that changes nothing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.tokens.models import Challenge, Token, TokenInfo
from tests import factories
from tests.conftest import user_headers
from tests.policies.conftest import policy_data
from tests.tokens.push_phone import PUSH_ENROLMENT, Phone, b32sign, impostor_key

H = dict[str, str]
PIN = "push-pin"
USER = {"user": "alice", "realm": "realm1"}
REGISTRATION_URL = PUSH_ENROLMENT["push_registration_url"]


def check(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.post("/validate/check", data={**USER, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def poll_transaction(client: TestClient, transaction_id: str) -> dict[str, Any]:
    response = client.get("/validate/polltransaction", params={"transaction_id": transaction_id})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def policy(client: TestClient, headers: H, name: str, scope: str, **action: str) -> None:
    data = policy_data({"scope": scope, "action": action})
    factories.ok_value(client.post(f"/policy/{name}", data=data, headers=headers))


def first_step(client: TestClient, headers: H, **params: str) -> dict[str, Any]:
    return factories.enrol(client, headers, "push", genkey="1", pin=PIN, **USER, **params)


@pytest.fixture
def phone(client: TestClient, admin_headers: H, flatfile_realm: str) -> Phone:
    """A push token enrolled through the enrollment policies and registered by its phone."""
    policy(client, admin_headers, "push", "enrollment", **PUSH_ENROLMENT)
    device = Phone(client)
    assert factories.ok_value(device.register(first_step(client, admin_headers))) is True
    return device


def start(client: TestClient) -> str:
    """The PIN alone: a push challenge."""
    body = check(client, **{"pass": PIN})
    assert body["result"]["authentication"] == "CHALLENGE", body
    assert body["detail"]["client_mode"] == "poll"
    assert body["detail"]["type"] == "push"
    transaction_id: str = body["detail"]["transaction_id"]
    return transaction_id


def failcount(client: TestClient, headers: H, serial: str) -> int:
    return int(factories.token_of(client, headers, serial)["failcount"])


def test_two_step_enrolment(client: TestClient, admin_headers: H, flatfile_realm: str) -> None:
    """The first step answers privacyIDEA's pipush URL with the policies' values and
    waits in clientwait (no login yet); the phone's registration answers the server's
    public key and the token is enrolled. The server's private key is no tokeninfo."""
    policy(
        client, admin_headers, "push", "enrollment", **PUSH_ENROLMENT,
        push_ttl="5", push_ssl_verify="0",
    )  # fmt: skip
    detail = first_step(client, admin_headers)
    assert detail["rollout_state"] == "clientwait"
    assert detail["pushurl"]["img"].startswith("data:image/png;base64,")
    device = Phone(client)
    url = device.scan(detail)
    assert detail["pushurl"]["value"].startswith("otpauth://pipush/alice%40realm1?")
    assert url["url"] == REGISTRATION_URL
    assert (url["ttl"], url["sslverify"], url["v"], url["serial"]) == (
        "5",
        "0",
        "1",
        detail["serial"],
    )
    assert url["enrollment_credential"] == detail["enrollment_credential"]
    assert "projectid" not in url  # poll only
    serial = detail["serial"]
    assert factories.token_of(client, admin_headers, serial)["rollout_state"] == "clientwait"
    body = check(client, **{"pass": PIN})
    assert body["result"]["authentication"] == "REJECT"  # not usable before the phone registered

    response = device.register(detail)
    assert factories.ok_value(response) is True
    answer = response.json()["detail"]
    assert (answer["serial"], answer["rollout_state"]) == (serial, "enrolled")
    assert device.server_key is not None and device.server_key.key_size == 4096
    token = factories.token_of(client, admin_headers, serial)
    assert token["rollout_state"] == "enrolled"
    info = token["info"]
    assert info["public_key_server"] == answer["public_key"]
    assert base64.b64decode(info["public_key_smartphone"])
    assert info["firebase_token"] == "fcm-registration-token-of-the-phone"
    assert "PRIVATE" not in str(token) and "enrollment_credential" not in info


def test_registration_refusals_change_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    """A wrong or empty credential, an undecodable or oversized key (privacyIDEA
    answers 500), an unknown serial and missing parameters: 4xx envelopes, the token
    still waits, and the right registration then works — once."""
    policy(client, admin_headers, "push", "enrollment", **PUSH_ENROLMENT)
    detail = first_step(client, admin_headers)
    device = Phone(client)
    refusals = [
        ({"enrollment_credential": "0" * 40}, 400),
        ({"enrollment_credential": ""}, 400),
        ({"pubkey": "not base64 at all!"}, 400),
        ({"pubkey": base64.b64encode(b"\x30\x03\x02\x01\x00").decode()}, 400),
        ({"pubkey": "A" * 5000}, 400),
        ({"serial": "PIPU00000000"}, 404),
    ]
    for overrides, status in refusals:
        response = device.register(detail, **overrides)
        assert response.status_code == status, (overrides, response.text)
        assert response.json()["result"]["status"] is False
    response = client.post("/ttype/push", data={"serial": detail["serial"]})
    assert response.status_code == 400
    with services.sessions() as session:
        token = session.scalars(select(Token).where(Token.serial == detail["serial"])).one()
        assert token.rollout_state == "clientwait"
        keys = set(session.scalars(select(TokenInfo.key).where(TokenInfo.token_id == token.id)))
        assert "public_key_smartphone" not in keys
    assert factories.ok_value(device.register(detail)) is True
    again = device.register(detail)
    assert again.status_code == 404, again.text  # no longer waiting for a phone


def test_accept_poll_and_collect(client: TestClient, admin_headers: H, phone: Phone) -> None:
    """Poll-only: the PIN starts a challenge, polltransaction says pending, the phone
    polls it (signed by the server) and accepts; polltransaction says accept, and the
    check with the transaction id and no pass is ACCEPT — once."""
    transaction_id = start(client)
    pending = poll_transaction(client, transaction_id)
    assert (pending["result"]["value"], pending["result"]["authentication"]) == (False, "REJECT")
    assert pending["detail"]["challenge_status"] == "pending"
    messages = phone.challenges()  # verified against the server's key
    assert len(messages) == 1
    message = messages[0]
    assert message["serial"] == phone.serial and message["url"] == REGISTRATION_URL
    assert message["question"] == "Do you want to confirm the login?"
    assert message["sslverify"] == "1"
    assert factories.ok_value(phone.respond(message["nonce"])) is True
    assert phone.challenges() == []  # answered: no longer open
    accepted = poll_transaction(client, transaction_id)
    assert (accepted["result"]["value"], accepted["result"]["authentication"]) == (True, "ACCEPT")
    assert accepted["detail"]["challenge_status"] == "accept"

    body = check(client, transaction_id=transaction_id, **{"pass": ""})
    assert body["result"]["authentication"] == "ACCEPT", body
    assert body["detail"]["serial"] == phone.serial
    replayed = check(client, transaction_id=transaction_id, **{"pass": ""})
    assert replayed["result"]["authentication"] == "REJECT"
    assert replayed["detail"]["message"] == "The challenge has already been answered."
    again = phone.respond(message["nonce"])
    assert factories.ok_value(again) is False  # a replayed answer is not taken
    token = factories.token_of(client, admin_headers, phone.serial)
    assert (token["failcount"], token["info"]["count_auth_success"]) == (0, "1")


def test_decline(client: TestClient, admin_headers: H, phone: Phone) -> None:
    """Declined on the phone (signed nonce|serial|decline): polltransaction and the
    check say DECLINED, no failure is counted, and the phone cannot accept it later."""
    transaction_id = start(client)
    nonce = phone.challenges()[0]["nonce"]
    assert factories.ok_value(phone.respond(nonce, decline=True)) is True
    polled = poll_transaction(client, transaction_id)
    assert polled["result"]["authentication"] == "DECLINED"
    assert polled["detail"]["challenge_status"] == "declined"
    body = check(client, transaction_id=transaction_id, **{"pass": ""})
    assert (body["result"]["value"], body["result"]["authentication"]) == (False, "DECLINED")
    assert body["detail"]["challenge_status"] == "declined"
    assert factories.ok_value(phone.respond(nonce)) is False
    assert failcount(client, admin_headers, phone.serial) == 0


def test_a_decline_needs_its_own_signature(
    client: TestClient, admin_headers: H, phone: Phone
) -> None:
    """``decline=1`` with the signature of an acceptance is not a decline (nor an
    acceptance): the signed text differs."""
    transaction_id = start(client)
    nonce = phone.challenges()[0]["nonce"]
    accept_signature = phone.respond_data(nonce)["signature"]
    data = {"nonce": nonce, "serial": phone.serial, "signature": accept_signature, "decline": "1"}
    assert factories.ok_value(client.post("/ttype/push", data=data)) is False
    assert poll_transaction(client, transaction_id)["detail"]["challenge_status"] == "pending"


def test_wrong_signatures_are_refused(client: TestClient, admin_headers: H, phone: Phone) -> None:
    """An answer signed by another key is not taken (the challenge stays pending and
    the check counts a failure, as privacyIDEA's "Response did not match"); a poll
    signed by another key, or not base32, is refused without naming a reason."""
    transaction_id = start(client)
    nonce = phone.challenges()[0]["nonce"]
    assert factories.ok_value(phone.respond(nonce, key=impostor_key())) is False
    assert poll_transaction(client, transaction_id)["detail"]["challenge_status"] == "pending"
    body = check(client, transaction_id=transaction_id, **{"pass": ""})
    assert body["result"]["authentication"] == "REJECT"
    assert body["detail"]["message"] == "Response did not match the challenge."
    assert failcount(client, admin_headers, phone.serial) == 1
    impostor = Phone(client, impostor_key(), serial=phone.serial)
    for response in (impostor.poll(), phone.poll(signature="not-base32!")):
        assert response.status_code == 400, response.text
        assert "Could not verify signature!" in response.json()["result"]["error"]["message"]
    unknown = Phone(client, phone.key, serial="PIPU00000000").poll()
    assert unknown.status_code == 400
    assert "Could not verify signature!" in unknown.json()["result"]["error"]["message"]
    bad = client.post(
        "/ttype/push", data={"serial": phone.serial, "nonce": nonce, "signature": "1!"}
    )
    assert bad.status_code == 400, bad.text
    assert phone.accept_all() == 1  # the phone's own answer still works


def test_poll_timestamps_outside_the_window(client: TestClient, phone: Phone) -> None:
    """The poll timestamp must be within a minute of the server's clock, and ISO 8601."""
    start(client)
    for shift in (timedelta(minutes=-2), timedelta(minutes=2)):
        response = phone.poll(shift=shift)
        assert response.status_code == 400, response.text
        assert "not in valid range" in response.json()["result"]["error"]["message"]
    params = {"serial": phone.serial, "timestamp": "yesterday", "signature": "AAAA"}
    assert client.get("/ttype/push", params=params).status_code == 400
    assert client.get("/ttype/push", params={"serial": phone.serial}).status_code == 400
    naive = datetime.now(UTC).replace(tzinfo=None).isoformat()  # no zone: UTC
    signed = {"serial": phone.serial, "timestamp": naive}
    signed["signature"] = b32sign(phone.key, f"{phone.serial}|{naive}")
    assert len(factories.ok_value(client.get("/ttype/push", params=signed))) == 1


def test_an_expired_challenge_is_not_answered(
    client: TestClient, admin_headers: H, phone: Phone, services: Services
) -> None:
    transaction_id = start(client)
    nonce = phone.challenges()[0]["nonce"]
    with services.sessions.begin() as session:
        session.execute(
            update(Challenge)
            .where(Challenge.transaction_id == transaction_id)
            .values(expiration=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert phone.challenges() == []
    assert factories.ok_value(phone.respond(nonce)) is False
    body = check(client, transaction_id=transaction_id, **{"pass": ""})
    assert body["result"]["authentication"] == "REJECT"
    assert body["detail"]["message"] == "Challenge expired"


def test_triggerchallenge_and_the_mobile_texts(
    client: TestClient, admin_headers: H, phone: Phone
) -> None:
    """An admin triggers the challenge; the authentication policies set the texts the
    phone shows (signed with them)."""
    policy(
        client, admin_headers, "pushtexts", "authentication",
        push_text_on_mobile="Log in to the VPN?", push_title_on_mobile="ACME",
    )  # fmt: skip
    response = client.post("/validate/triggerchallenge", data=USER, headers=admin_headers)
    assert factories.ok_value(response) == 1
    transaction_id = response.json()["detail"]["transaction_id"]
    message = phone.challenges()[0]
    assert (message["question"], message["title"]) == ("Log in to the VPN?", "ACME")
    assert phone.accept_all() == 1
    assert poll_transaction(client, transaction_id)["detail"]["challenge_status"] == "accept"


def test_push_allow_polling(client: TestClient, admin_headers: H, phone: Phone) -> None:
    """``deny``: the phone may not poll, and a poll-only token gets no challenge;
    ``token``: the tokeninfo ``polling_allowed`` decides."""
    policy(client, admin_headers, "nopoll", "authentication", push_allow_polling="deny")
    assert phone.poll().status_code == 403
    body = check(client, **{"pass": PIN})
    assert body["result"]["authentication"] == "REJECT", body
    policy(client, admin_headers, "nopoll", "authentication", push_allow_polling="token")
    assert factories.ok_value(phone.poll()) == []
    url = f"/token/info/{phone.serial}/polling_allowed"
    response = client.post(url, data={"value": "False"}, headers=admin_headers)
    assert response.status_code == 200, response.text
    assert phone.poll().status_code == 403


def test_pin_and_anything_is_no_login(client: TestClient, admin_headers: H, phone: Phone) -> None:
    body = check(client, **{"pass": PIN + "123456"})
    assert body["result"]["value"] is False


def test_re_enrolment_forgets_the_previous_phone(
    client: TestClient, admin_headers: H, phone: Phone
) -> None:
    """A new first step for the serial waits for a new phone: the previous one can no
    longer poll or answer, nor register again with its old credential."""
    start(client)
    nonce = phone.challenges()[0]["nonce"]
    detail = first_step(client, admin_headers, serial=phone.serial)
    assert detail["rollout_state"] == "clientwait"
    assert factories.ok_value(phone.respond(nonce)) is False
    assert phone.poll().status_code == 400
    stale = Phone(client, phone.key)
    query = f"serial={phone.serial}&enrollment_credential={phone.credential}"
    old = {"pushurl": {"value": f"otpauth://pipush/x?{query}"}}
    assert stale.register(old).status_code == 400
    assert factories.ok_value(Phone(client).register(detail)) is True


def test_a_user_enrols_a_push_token_for_herself(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    policy(client, admin_headers, "push", "enrollment", **PUSH_ENROLMENT)
    alice = user_headers(client, "alice")
    detail = factories.enrol(client, alice, "push", genkey="1", pin=PIN)
    device = Phone(client)
    assert factories.ok_value(device.register(detail)) is True
    transaction_id = start(client)
    assert device.accept_all() == 1
    body = check(client, transaction_id=transaction_id, **{"pass": ""})
    assert body["result"]["authentication"] == "ACCEPT"
