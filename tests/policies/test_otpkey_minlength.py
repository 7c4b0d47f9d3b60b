"""Keys of any length, as privacyIDEA accepts them; the enrollment policy
``otpkey_minlength`` may require a minimum, for /token/init and the Token handler's
``enroll`` alike."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import RFC_KEY_HEX, assert_error, get_token, init_token

SHORT = "31323334"  # the 4-byte key of privacyIDEA's own additional_params example


def test_a_short_key_is_accepted_without_a_policy(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    serial = init_token(client, admin_headers, type="hotp", otpkey=SHORT)["detail"]["serial"]
    assert get_token(client, admin_headers, serial)["tokentype"] == "hotp"


def test_the_policy_sets_a_minimum_key_length(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy, flatfile_realm: str
) -> None:
    set_policy("long keys", scope="enrollment", action="otpkey_minlength=16")
    refused = client.post("/token/init", data={"type": "totp", "otpkey": SHORT},
                          headers=admin_headers)  # fmt: skip
    error = assert_error(refused, 403)
    assert "at least 16 bytes" in error["result"]["error"]["message"]
    assert client.get("/token/", headers=admin_headers).json()["result"]["value"]["count"] == 0
    init_token(client, admin_headers, type="totp", otpkey=RFC_KEY_HEX * 2)  # 40 bytes
    init_token(client, admin_headers, type="totp", genkey="1")  # generated keys are long

    # the Token handler's enroll goes through the same use case
    data = {"name": "enrol", "event": "token_list", "handlermodule": "Token",
            "action": "enroll", "option.tokentype": "totp",
            "option.additional_params": json.dumps({"genkey": 0, "otpkey": SHORT})}  # fmt: skip
    assert client.post("/event", data=data, headers=admin_headers).status_code == 200
    client.get("/token/", headers=admin_headers)
    assert client.get("/token/", headers=admin_headers).json()["result"]["value"]["count"] == 2


def test_the_policy_value_is_checked(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.post("/policy/bad", data={"scope": "enrollment",
                                                "action": "otpkey_minlength=0"},
                           headers=admin_headers)  # fmt: skip
    assert response.status_code == 400 and "otpkey_minlength" in response.text
