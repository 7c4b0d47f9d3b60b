"""User rights: without user policies Factorflow's defaults; with one, only what is granted."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import user_headers
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import assert_error, ok


def test_user_allowed_only_totp_cannot_enrol_hotp(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    alice = user_headers(client, "alice")
    ok(client.post("/token/init", data={"type": "hotp", "genkey": 1}, headers=alice))
    set_policy("totp-only", scope="user", action="enrollTOTP", realm="realm1")
    body = assert_error(
        client.post("/token/init", data={"type": "hotp", "genkey": 1}, headers=alice), 403, 303
    )
    assert body["result"]["error"]["message"] == (
        "User actions are defined, but the action enrollHOTP is not allowed!"
    )
    ok(client.post("/token/init", data={"type": "totp", "genkey": 1}, headers=alice))
    # listing own tokens keeps Factorflow's default
    ok(client.get("/token/", headers=alice))


def test_user_policy_for_other_users_only(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    set_policy("bob-may-disable", scope="user", action="enrollHOTP, disable", user="bob")
    alice = user_headers(client, "alice")
    bob = user_headers(client, "bob")
    assert_error(client.post("/token/init", data={"type": "hotp", "genkey": 1}, headers=alice), 403)
    serial = ok(client.post("/token/init", data={"type": "hotp", "genkey": 1}, headers=bob))[
        "detail"
    ]["serial"]
    ok(client.post(f"/token/disable/{serial}", headers=bob))
    assert_error(client.post(f"/token/enable/{serial}", headers=bob), 403)
