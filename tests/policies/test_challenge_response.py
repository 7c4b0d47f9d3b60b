"""``challenge_response``: HOTP answers a PIN alone with a challenge when a policy says so."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, check, init_token


def test_hotp_with_challenge_response_policy(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    init_token(client, admin_headers, type="hotp", serial="HOTP1", otpkey=RFC_KEY_HEX,
               user="alice", realm="realm1", pin="1234")  # fmt: skip
    # Without the policy the PIN alone is a wrong OTP.
    body = check(client, user="alice", realm="realm1", **{"pass": "1234"})
    assert body["result"]["authentication"] == "REJECT"

    set_policy("cr", scope="authentication", action="challenge_response=hotp", realm="realm1")
    body = check(client, user="alice", realm="realm1", **{"pass": "1234"})
    assert body["result"]["authentication"] == "CHALLENGE", body
    assert body["result"]["value"] is False
    detail = body["detail"]
    assert detail["serial"] == "HOTP1" and detail["type"] == "hotp"
    transaction_id = detail["transaction_id"]

    body = check(client, user="alice", realm="realm1", transaction_id=transaction_id,
                 **{"pass": RFC4226_OTPS[1]})  # fmt: skip
    assert body["result"]["authentication"] == "ACCEPT", body
    assert body["result"]["value"] is True

    # PIN + OTP in one request still works.
    body = check(client, user="alice", realm="realm1", **{"pass": "1234" + RFC4226_OTPS[2]})
    assert body["result"]["authentication"] == "ACCEPT", body


def test_policy_for_another_realm_does_not_apply(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    init_token(client, admin_headers, type="hotp", serial="HOTP1", otpkey=RFC_KEY_HEX,
               user="alice", realm="realm1", pin="1234")  # fmt: skip
    set_policy("cr", scope="authentication", action="challenge_response=hotp totp",
               realm="otherrealm")  # fmt: skip
    body = check(client, user="alice", realm="realm1", **{"pass": "1234"})
    assert body["result"]["authentication"] == "REJECT"
