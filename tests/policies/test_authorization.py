"""Authorization policies on /validate/check."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, check, init_token


def test_setrealm_moves_the_user_to_another_realm(
    client: TestClient, admin_headers: dict[str, str], realm_b: str, set_policy: SetPolicy
) -> None:
    init_token(client, admin_headers, type="hotp", serial="DAVE1", otpkey=RFC_KEY_HEX,
               user="dave", realm="realm2", pin="pin")  # fmt: skip
    set_policy("to-b", scope="authorization", action="setrealm=realm2", realm="realm1")
    body = check(client, user="dave", **{"pass": "pin" + RFC4226_OTPS[1]})
    assert body["result"]["authentication"] == "ACCEPT", body
