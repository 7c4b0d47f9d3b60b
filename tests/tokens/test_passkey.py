"""The ``passkey`` token over HTTP with the software authenticator: privacyIDEA
3.14's enrolment (``passkey_registration``), the usernameless login through
``/validate/initialize`` and ``/validate/check`` (the user comes from the
credential), the challenge as text, and the refusals."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.testclient import TestClient

from tests.tokens.fido_authenticator import SoftAuthenticator, passkey_spelling, unb64url
from tests.tokens.helpers import assert_error, get_token, ok
from tests.tokens.test_webauthn import ORIGIN, RP, USER, enrolled, rp_policy, set_policy

H = dict[str, str]
CLIENTS = 12


def registration(answer: dict[str, str]) -> dict[str, str]:
    """The software authenticator's registration in privacyIDEA's passkey names."""
    return {
        "attestationObject": answer["regdata"],
        "clientDataJSON": answer["clientdata"],
        "credential_id": answer["credential_id"],
        "rawId": answer["credential_id"],
        "authenticatorAttachment": "cross-platform",
    }


def enrol_passkey(
    client: TestClient, headers: H, auth: SoftAuthenticator, user: dict[str, str] = USER
) -> str:
    first = ok(client.post("/token/init", data={"type": "passkey", **user}, headers=headers))
    detail = first["detail"]
    options = detail["passkey_registration"]
    text = options["challenge"]
    answer = auth.register(text.encode(), options["rp"]["id"], user_handle=unb64url(
        options["user"]["id"]))  # fmt: skip
    data = {"type": "passkey", "serial": detail["serial"],
            "transaction_id": detail["transaction_id"], **registration(answer)}  # fmt: skip
    done = ok(client.post("/token/init", data=data, headers={**headers, "Origin": ORIGIN}))
    assert done["detail"]["rollout_state"] == "enrolled"
    return str(detail["serial"])


def initialize(client: TestClient) -> dict[str, Any]:
    body = ok(client.post("/validate/initialize", data={"type": "passkey"}))
    assert body["result"]["authentication"] == "CHALLENGE"
    passkey: dict[str, Any] = body["detail"]["passkey"]
    assert passkey["transaction_id"] == body["detail"]["transaction_id"]
    return passkey


def login(
    client: TestClient, passkey: dict[str, Any], assertion: dict[str, str],
    origin: str = ORIGIN, **extra: str,
) -> dict[str, Any]:  # fmt: skip
    data = {"transaction_id": passkey["transaction_id"], **passkey_spelling(assertion), **extra}
    return ok(client.post("/validate/check", data=data, headers={"Origin": origin}))


def test_enrolment_as_privacyidea_answers_it(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    assert_error(client.post("/token/init", data={"type": "passkey", **USER},
                             headers=admin_headers), 403)  # no RP policy  # fmt: skip
    rp_policy(client, admin_headers)
    assert_error(client.post("/token/init", data={"type": "passkey"}, headers=admin_headers), 400)
    detail = ok(client.post("/token/init", data={"type": "passkey", **USER},
                            headers=admin_headers))["detail"]  # fmt: skip
    assert detail["serial"].startswith("PIPK") and detail["rollout_state"] == "clientwait"
    options = detail["passkey_registration"]
    assert options["rp"] == {"id": RP, "name": "Example"}
    assert options["user"]["name"] == "alice"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["attestation"] == "none"
    assert detail["transaction_id"]
    auth = SoftAuthenticator()
    text = options["challenge"]
    bad = registration(auth.register(text.encode(), "evil.example.net"))
    data = {
        "type": "passkey",
        "serial": detail["serial"],
        "transaction_id": detail["transaction_id"],
    }
    origin = {**admin_headers, "Origin": ORIGIN}
    assert_error(client.post("/token/init", data={**data, **bad}, headers=origin), 400)
    undecodable = {**registration(auth.register(text.encode(), RP)), "attestationObject": "%%"}
    assert_error(client.post("/token/init", data={**data, **undecodable}, headers=origin), 400)
    assert get_token(client, admin_headers, detail["serial"])["rollout_state"] == "clientwait"
    good = registration(auth.register(text.encode(), RP))  # 'none' attestation, as passkeys do
    assert ok(client.post("/token/init", data={**data, **good}, headers=origin))
    token = get_token(client, admin_headers, detail["serial"])
    assert token["rollout_state"] == "enrolled" and token["info"]["public_key"]


def test_usernameless_login_finds_the_user_from_the_credential(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    rp_policy(client, admin_headers)
    auth = SoftAuthenticator()
    serial = enrol_passkey(client, admin_headers, auth)
    passkey = initialize(client)
    assert passkey["rpId"] == RP  # from the enrollment policy, for the browser
    text = passkey["challenge"]
    assertion = auth.assert_(text.encode(), RP)  # the client signs the text's UTF-8 bytes
    body = login(client, passkey, assertion)
    assert body["result"]["authentication"] == "ACCEPT", body
    assert body["detail"]["username"] == "alice" and body["detail"]["serial"] == serial
    # The challenge is used once.
    again = login(client, passkey, auth.assert_(text.encode(), RP))
    assert again["result"]["authentication"] == "REJECT"
    # With the user named, the same flow works too.
    passkey = initialize(client)
    named = login(client, passkey, auth.assert_(passkey["challenge"].encode(), RP), **USER)
    assert named["result"]["authentication"] == "ACCEPT"


def test_refused_assertions_leave_the_challenge_open(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    rp_policy(client, admin_headers)
    auth = SoftAuthenticator(counter=5)
    serial = enrol_passkey(client, admin_headers, auth)
    passkey = initialize(client)
    text = passkey["challenge"].encode()
    for refused in (
        login(client, passkey, auth.assert_(text, RP), origin="https://evil.example.net"),
        login(client, passkey, auth.assert_(text, "evil.example.net")),
        login(client, passkey, auth.assert_(unb64url(passkey["challenge"]), RP)),  # not text
        login(client, passkey, auth.assert_(text, RP, counter=3)),  # the counter went back
        login(client, passkey, SoftAuthenticator().assert_(text, RP)),  # unknown credential
    ):
        assert refused["result"]["authentication"] == "REJECT", refused
    assert get_token(client, admin_headers, serial)["failcount"] == 0
    accepted = login(client, passkey, auth.assert_(text, RP, counter=6))
    assert accepted["result"]["authentication"] == "ACCEPT"


def test_a_passkey_never_counts_a_pin_or_otp(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    rp_policy(client, admin_headers)
    auth = SoftAuthenticator()
    serial = enrol_passkey(client, admin_headers, auth)
    body = ok(client.post("/validate/check", data={**USER, "pass": "123456"}))
    assert body["result"]["authentication"] == "REJECT"
    assert get_token(client, admin_headers, serial)["failcount"] == 0
    # An assertion without its transaction is a bad request, not a failure.
    passkey = initialize(client)
    data = passkey_spelling(auth.assert_(passkey["challenge"].encode(), RP))
    assert_error(client.post("/validate/check", data=data, headers={"Origin": ORIGIN}), 400)
    assert_error(client.post("/validate/initialize", data={"type": "hotp"}), 400)


def test_initialize_names_the_relying_party_of_the_realm_asked_for(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    for realm, rp in (("realm1", "one.example"), ("realm2", "two.example")):
        set_policy(client, admin_headers, f"rp-{realm}", realm=realm,
                   webauthn_relying_party_id=rp, webauthn_relying_party_name=rp)  # fmt: skip
    # The request's own value is never echoed; without a realm no single RP applies.
    asked = {"type": "passkey", "webauthn_relying_party_id": "evil.example.net"}
    assert "rpId" not in ok(client.post("/validate/initialize", data=asked))["detail"]["passkey"]
    for realm, rp in (("realm1", "one.example"), ("realm2", "two.example")):
        body = ok(client.post("/validate/initialize", data={"type": "passkey", "realm": realm}))
        assert body["detail"]["passkey"]["rpId"] == rp


def test_one_assertion_sent_many_times_at_once_logs_in_once(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    rp_policy(client, admin_headers)
    auth = SoftAuthenticator()
    enrol_passkey(client, admin_headers, auth)
    passkey = initialize(client)
    assertion = auth.assert_(passkey["challenge"].encode(), RP)
    barrier = threading.Barrier(CLIENTS)

    def send(_: int) -> str:
        barrier.wait()
        data = {"transaction_id": passkey["transaction_id"], **passkey_spelling(assertion)}
        response = client.post("/validate/check", data=data, headers={"Origin": ORIGIN})
        assert response.status_code == 200, response.text
        return str(response.json()["result"]["authentication"])

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = Counter(pool.map(send, range(CLIENTS)))
    assert answers == Counter({"ACCEPT": 1, "REJECT": CLIENTS - 1}), answers


def test_undecodable_assertions_are_rejections_not_errors(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    rp_policy(client, admin_headers)
    auth = SoftAuthenticator()
    serial = enrol_passkey(client, admin_headers, auth)
    passkey = initialize(client)
    good = auth.assert_(passkey["challenge"].encode(), RP)
    for field, junk in (("clientdata", "!!"), ("authenticatordata", "AAAA"),
                        ("signaturedata", "%%%"), ("credentialid", "***"),
                        ("clientdata", "eyJub3QiOiAianNvbiI")):  # fmt: skip
        body = login(client, passkey, {**good, field: junk})
        assert body["result"]["authentication"] == "REJECT", (field, body)
    too_long = {**passkey_spelling(good), "clientDataJSON": "A" * 20000}
    data = {"transaction_id": passkey["transaction_id"], **too_long}
    assert_error(client.post("/validate/check", data=data, headers={"Origin": ORIGIN}), 400)
    assert get_token(client, admin_headers, serial)["failcount"] == 0
    assert login(client, passkey, good)["result"]["authentication"] == "ACCEPT"


def test_enrolment_excludes_the_users_registered_credentials(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    rp_policy(client, admin_headers)
    first, second = SoftAuthenticator(), SoftAuthenticator()
    enrol_passkey(client, admin_headers, first)
    enrolled(client, admin_headers, second)  # a webauthn token of the same user
    waiting = ok(client.post("/token/init", data={"type": "passkey", **USER},
                             headers=admin_headers))["detail"]  # fmt: skip
    excluded = {item["id"] for item in waiting["passkey_registration"]["excludeCredentials"]}
    # The token still waiting for its registration holds no credential.
    assert excluded == {first.credential, second.credential}
    bob = ok(client.post("/token/init", data={"type": "passkey", "user": "bob", "realm": "realm1"},
                         headers=admin_headers))["detail"]  # fmt: skip
    assert bob["passkey_registration"]["excludeCredentials"] == []
