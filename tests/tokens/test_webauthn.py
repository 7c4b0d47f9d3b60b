"""The ``webauthn`` token over HTTP with a software authenticator doing real
cryptography (tests/tokens/fido_authenticator.py): the two-step enrolment, the
attestation policies, PIN → challenge → assertion → ACCEPT, and every refusal
(origin, RP id, signature counter, replay, undecodable input) leaving the challenge
open and the fail counter alone."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests import factories
from tests.policies.conftest import policy_data
from tests.tokens.fido_authenticator import SoftAuthenticator, b64url, unb64url
from tests.tokens.helpers import assert_error, get_token, ok

H = dict[str, str]
USER = {"user": "alice", "realm": "realm1"}
ORIGIN = "https://mfa.example.com"
RP = "example.com"


def set_policy(client: TestClient, headers: H, name: str, **action: str) -> None:
    realm = action.pop("realm", "")
    fields: dict[str, Any] = {"scope": "enrollment", "action": action}
    if realm:
        fields["realm"] = realm
    factories.ok_value(client.post(f"/policy/{name}", data=policy_data(fields), headers=headers))


def rp_policy(client: TestClient, headers: H, rp: str = RP, **extra: str) -> None:
    set_policy(client, headers, "wa_rp", webauthn_relying_party_id=rp,
               webauthn_relying_party_name="Example", **extra)  # fmt: skip


def start(client: TestClient, headers: H, **params: Any) -> dict[str, Any]:
    """The first ``/token/init``: the registration request."""
    body = ok(client.post("/token/init", data={"type": "webauthn", "pin": "1234", **USER,
                                               **params}, headers=headers))  # fmt: skip
    detail: dict[str, Any] = body["detail"]
    return detail


def finish(
    client: TestClient, headers: H, detail: dict[str, Any], answer: dict[str, str],
    origin: str = ORIGIN,
) -> Any:  # fmt: skip
    request = detail["webAuthnRegisterRequest"]
    data = {"type": "webauthn", "serial": detail["serial"], **answer,
            "transaction_id": request["transaction_id"]}  # fmt: skip
    return client.post("/token/init", data=data, headers={**headers, "Origin": origin})


def enrolled(
    client: TestClient, headers: H, auth: SoftAuthenticator, rp: str = RP, **params: Any
) -> str:
    detail = start(client, headers, **params)
    nonce = unb64url(detail["webAuthnRegisterRequest"]["nonce"])
    response = finish(client, headers, detail, auth.register(nonce, rp, fmt="packed"))
    assert ok(response)["detail"]["rollout_state"] == "enrolled"
    return str(detail["serial"])


def challenge(client: TestClient, user: dict[str, str] = USER) -> tuple[str, bytes, str]:
    body = ok(client.post("/validate/check", data={**user, "pass": "1234"}))
    assert body["result"]["authentication"] == "CHALLENGE", body
    entry = body["detail"]["multi_challenge"][0]
    assert entry["client_mode"] == "webauthn"
    sign = entry["attributes"]["webAuthnSignRequest"]
    return body["detail"]["transaction_id"], unb64url(sign["challenge"]), sign["rpId"]


def answer(
    client: TestClient, transaction_id: str, assertion: dict[str, str], origin: str = ORIGIN,
    user: dict[str, str] = USER,
) -> dict[str, Any]:  # fmt: skip
    data = {**user, "pass": "", "transaction_id": transaction_id, **assertion}
    return ok(client.post("/validate/check", data=data, headers={"Origin": origin}))


def test_enrolment_and_login(client: TestClient, admin_headers: H, flatfile_realm: str) -> None:
    rp_policy(client, admin_headers)
    detail = start(client, admin_headers)
    assert detail["serial"].startswith("WAN") and detail["rollout_state"] == "clientwait"
    request = detail["webAuthnRegisterRequest"]
    assert request["relyingParty"] == {"id": RP, "name": "Example"}
    assert request["attestation"] == "direct" and request["serialNumber"] == detail["serial"]
    assert {"type": "public-key", "alg": -7} in request["pubKeyCredAlgorithms"]
    # A token waiting for its registration cannot log in.
    waiting = ok(client.post("/validate/check", data={**USER, "pass": "1234"}))
    assert waiting["result"]["authentication"] == "REJECT"
    auth = SoftAuthenticator()
    registration = auth.register(unb64url(request["nonce"]), RP, fmt="packed")
    done = ok(finish(client, admin_headers, detail, registration))["detail"]
    assert done["rollout_state"] == "enrolled" and "webAuthnRegisterResponse" in done
    token = get_token(client, admin_headers, detail["serial"])
    assert token["info"]["relying_party_id"] == RP and token["info"]["pubKey"]
    assert token["info"]["attestation_format"] == "packed"

    transaction_id, nonce, rp_id = challenge(client)
    assert rp_id == RP
    body = answer(client, transaction_id, auth.assert_(nonce, RP))
    assert body["result"]["authentication"] == "ACCEPT", body
    assert body["detail"]["serial"] == detail["serial"]
    assert get_token(client, admin_headers, detail["serial"])["count"] == 1  # sign count
    # The same assertion again: the challenge was consumed.
    replay = answer(client, transaction_id, auth.assert_(nonce, RP, counter=1))
    assert replay["result"]["authentication"] == "REJECT"


@pytest.mark.parametrize("bad", ["origin_header", "client_origin", "rp_id", "counter", "type"])
def test_refused_assertions_leave_the_challenge_open_and_count_no_failure(
    client: TestClient, admin_headers: H, flatfile_realm: str, bad: str
) -> None:
    rp_policy(client, admin_headers)
    auth = SoftAuthenticator(counter=5)
    serial = enrolled(client, admin_headers, auth)
    transaction_id, nonce, _ = challenge(client)
    header = ORIGIN
    if bad == "origin_header":
        assertion, header = auth.assert_(nonce, RP), "https://evil.example.net"
    elif bad == "client_origin":
        assertion = auth.assert_(nonce, RP, origin="https://evil.example.net")
    elif bad == "rp_id":
        assertion = auth.assert_(nonce, "evil.example.net")
    elif bad == "counter":
        assertion = auth.assert_(nonce, RP, counter=5)  # not above the registered 5
    else:
        assertion = auth.assert_(nonce, RP, kind="webauthn.create")
    refused = answer(client, transaction_id, assertion, origin=header)
    assert refused["result"]["authentication"] == "REJECT", refused
    if bad == "origin_header":  # nor is an origin parameter without the header
        data = {**USER, "pass": "", "transaction_id": transaction_id, "origin": ORIGIN,
                **auth.assert_(nonce, RP)}  # fmt: skip
        body = ok(client.post("/validate/check", data=data))
        assert body["result"]["authentication"] == "REJECT"
    assert get_token(client, admin_headers, serial)["failcount"] == 0
    accepted = answer(client, transaction_id, auth.assert_(nonce, RP, counter=7))
    assert accepted["result"]["authentication"] == "ACCEPT"


def test_another_tokens_credential_and_a_tampered_signature_are_refused(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    rp_policy(client, admin_headers)
    auth = SoftAuthenticator()
    enrolled(client, admin_headers, auth)
    transaction_id, nonce, _ = challenge(client)
    stranger = SoftAuthenticator().assert_(nonce, RP)
    assert answer(client, transaction_id, stranger)["result"]["authentication"] == "REJECT"
    tampered = auth.assert_(nonce, RP)
    tampered["signaturedata"] = b64url(unb64url(tampered["signaturedata"])[:-2] + b"\0\0")
    assert answer(client, transaction_id, tampered)["result"]["authentication"] == "REJECT"
    # An OTP is no answer to a WebAuthn challenge, and counts nothing either.
    data = {**USER, "pass": "123456", "transaction_id": transaction_id}
    assert ok(client.post("/validate/check", data=data))["result"]["authentication"] == "REJECT"
    good = answer(client, transaction_id, auth.assert_(nonce, RP))
    assert good["result"]["authentication"] == "ACCEPT"


def test_none_attestation_needs_the_level_policy(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    rp_policy(client, admin_headers)
    auth = SoftAuthenticator()
    detail = start(client, admin_headers)
    nonce = unb64url(detail["webAuthnRegisterRequest"]["nonce"])
    # privacyIDEA's default level 'untrusted' refuses an authenticator without attestation.
    assert_error(finish(client, admin_headers, detail, auth.register(nonce, RP)), 403)
    assert get_token(client, admin_headers, detail["serial"])["rollout_state"] == "clientwait"
    set_policy(client, admin_headers, "wa_level",
               webauthn_authenticator_attestation_level="none")  # fmt: skip
    detail = start(client, admin_headers, serial=detail["serial"])
    nonce = unb64url(detail["webAuthnRegisterRequest"]["nonce"])
    assert ok(finish(client, admin_headers, detail, auth.register(nonce, RP)))
    set_policy(client, admin_headers, "wa_level",
               webauthn_authenticator_attestation_level="trusted",
               webauthn_authenticator_attestation_form="none")  # fmt: skip
    other = start(client, admin_headers)
    assert other["webAuthnRegisterRequest"]["attestation"] == "none"
    nonce = unb64url(other["webAuthnRegisterRequest"]["nonce"])
    packed = SoftAuthenticator().register(nonce, RP, fmt="packed")  # self attestation
    assert_error(finish(client, admin_headers, other, packed), 403)


def test_bad_registrations_are_4xx_and_change_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    assert_error(client.post("/token/init", data={"type": "webauthn", **USER},
                             headers=admin_headers), 403)  # no RP policy  # fmt: skip
    rp_policy(client, admin_headers)
    # The request's own relying party is ignored: only the policy sets it.
    detail = start(client, admin_headers, webauthn_relying_party_id="evil.example.net")
    assert detail["webAuthnRegisterRequest"]["relyingParty"]["id"] == RP
    nonce = unb64url(detail["webAuthnRegisterRequest"]["nonce"])
    auth = SoftAuthenticator()
    good = auth.register(nonce, RP, fmt="packed")
    for answer_ in (
        {**good, "regdata": "!!not base64!!"},
        {**good, "regdata": b64url(b"\xa1\x01")},  # CBOR, but no attestation object
        {**good, "clientdata": b64url(b"{not json")},
        auth.register(b"another challenge", RP, fmt="packed"),
        auth.register(nonce, "evil.example.net", fmt="packed"),
    ):
        assert_error(finish(client, admin_headers, detail, answer_), 400)
    assert_error(
        finish(client, admin_headers, detail, good, origin="https://evil.example.net"), 400
    )
    assert_error(finish(client, admin_headers, {**detail, "webAuthnRegisterRequest": {
        "transaction_id": "1"}}, good), 400)  # fmt: skip
    token = get_token(client, admin_headers, detail["serial"])
    assert token["rollout_state"] == "clientwait" and "pubKey" not in token["info"]
    assert ok(finish(client, admin_headers, detail, good))
    # Finished once: the same answer again is refused.
    assert_error(finish(client, admin_headers, detail, good), 400)


def test_relying_parties_per_realm(
    client: TestClient, admin_headers: H, flatfile_realm: str, passwd_file: Any
) -> None:
    factories.flatfile_realm(client, admin_headers, passwd_file, "realm2", "resolver2")
    set_policy(client, admin_headers, "rp1", realm="realm1", webauthn_relying_party_id="one.example",
               webauthn_relying_party_name="One")  # fmt: skip
    set_policy(client, admin_headers, "rp2", realm="realm2", webauthn_relying_party_id="two.example",
               webauthn_relying_party_name="Two")  # fmt: skip
    bob = {"user": "bob", "realm": "realm2"}
    for user, rp in ((USER, "one.example"), (bob, "two.example")):
        auth = SoftAuthenticator()
        enrolled(client, admin_headers, auth, rp, **user)
        transaction_id, nonce, rp_id = challenge(client, user)
        assert rp_id == rp
        body = answer(client, transaction_id, auth.assert_(nonce, rp), user=user)
        assert body["result"]["authentication"] == "ACCEPT", body


def test_the_credential_cannot_be_changed_through_token_info(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    rp_policy(client, admin_headers)
    auth = SoftAuthenticator()
    serial = enrolled(client, admin_headers, auth)
    attacker = SoftAuthenticator()
    before = get_token(client, admin_headers, serial)["info"]
    for key in ("pubKey", "relying_party_id", "registration_challenge"):
        response = client.post(
            f"/token/info/{serial}/{key}", data={"value": "x"}, headers=admin_headers
        )
        assert response.status_code in (400, 403), response.text
    assert get_token(client, admin_headers, serial)["info"] == before
    transaction_id, nonce, _ = challenge(client)
    assert answer(client, transaction_id, attacker.assert_(nonce, RP))["result"]["value"] is False
    assert answer(client, transaction_id, auth.assert_(nonce, RP))["result"]["value"] is True
