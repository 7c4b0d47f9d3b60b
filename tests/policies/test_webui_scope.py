"""The ``webui`` policy scope (issue 22 item 3): the settings ``POST /auth`` answers with,
whom a policy reaches, ``login_mode``, ``jwt_validity`` and the login form's realms."""

from __future__ import annotations

from typing import Any

import jwt
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD, USER_PASSWORDS
from tests.policies.conftest import SetPolicy, policy_data
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, assert_error, ok


def login(client: TestClient, username: str, password: str, realm: str = "") -> Any:
    data = {"username": username, "password": password, **({"realm": realm} if realm else {})}
    return client.post("/auth", data=data)


def settings_of(client: TestClient, username: str, password: str, realm: str = "") -> Any:
    answer = login(client, username, password, realm)
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]["value"]


def test_auth_answers_the_settings_of_the_policies_that_match(
    client: TestClient, flatfile_realm: str, set_policy: SetPolicy
) -> None:
    defaults = settings_of(client, "alice", USER_PASSWORDS["alice"], "realm1")
    assert (defaults["logout_time"], defaults["hide_buttons"], defaults["token_page_size"]) == (
        120, False, 15,
    )  # fmt: skip
    set_policy("realm1-ui", scope="webui", realm="realm1",
               action="logout_time=300, timeout_action=logout, hide_buttons, "
                      "default_tokentype=totp, token_page_size=25, tokenwizard, user_details")  # fmt: skip
    set_policy("admin-ui", scope="webui", adminuser=ADMIN_NAME, action="hide_welcome")
    alice = settings_of(client, "alice", USER_PASSWORDS["alice"], "realm1")
    assert {k: alice[k] for k in ("logout_time", "timeout_action", "hide_buttons",
                                  "default_tokentype", "token_page_size", "token_wizard",
                                  "user_details", "hide_welcome")} == {
        "logout_time": 300, "timeout_action": "logout", "hide_buttons": True,
        "default_tokentype": "totp", "token_page_size": 25, "token_wizard": True,
        "user_details": True, "hide_welcome": False,
    }  # fmt: skip
    # A realm's policy does not reach the internal admin; the admin's does not reach users.
    admin = settings_of(client, ADMIN_NAME, ADMIN_PASSWORD)
    assert (admin["logout_time"], admin["hide_buttons"], admin["hide_welcome"]) == (
        120, False, True,
    )  # fmt: skip


def test_jwt_validity_from_the_policy(
    client: TestClient, flatfile_realm: str, set_policy: SetPolicy
) -> None:
    set_policy("short-jwt", scope="webui", user="bob", action="jwt_validity=600")
    claims = {
        name: jwt.decode(
            settings_of(client, name, USER_PASSWORDS[name], "realm1")["token"],
            options={"verify_signature": False},
        )
        for name in ("alice", "bob")
    }
    assert claims["bob"]["exp"] - claims["bob"]["iat"] == 600
    assert claims["alice"]["exp"] - claims["alice"]["iat"] == 3600  # the server's setting


def test_login_mode_disable_refuses_the_users_of_the_realm_only(
    client: TestClient, flatfile_realm: str, set_policy: SetPolicy, services: Services
) -> None:
    set_policy("no-ui", scope="webui", realm="realm1", action="login_mode=disable")
    assert_error(login(client, "alice", USER_PASSWORDS["alice"], "realm1"), 401)
    settings_of(client, ADMIN_NAME, ADMIN_PASSWORD)  # admins are no realm users
    entries = ok(client.get("/audit/", params={"action": "POST /auth", "success": "0"},
                            headers=_admin(client)))["result"]["value"]["auditdata"]  # fmt: skip
    assert any("disabled" in e["info"] for e in entries), entries


def test_login_mode_privacyidea_takes_pin_and_otp_once(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str,
    set_policy: SetPolicy,
) -> None:  # fmt: skip
    ok(client.post("/token/init", data={"type": "hotp", "otpkey": RFC_KEY_HEX, "pin": "4711",
                                        "user": "alice", "realm": "realm1"},
                   headers=admin_headers))  # fmt: skip
    set_policy("2fa-ui", scope="webui", realm="realm1", action="login_mode=privacyIDEA")
    # The store's password alone no longer logs in.
    assert_error(login(client, "alice", USER_PASSWORDS["alice"], "realm1"), 401)
    answer = settings_of(client, "alice", "4711" + RFC4226_OTPS[0], "realm1")
    assert answer["role"] == "user" and answer["username"] == "alice"
    # The same OTP a second time is refused, as /validate/check refuses a replay.
    assert_error(login(client, "alice", "4711" + RFC4226_OTPS[0], "realm1"), 401)
    assert settings_of(client, "alice", "4711" + RFC4226_OTPS[1], "realm1")["role"] == "user"


def test_bad_webui_values_are_refused_and_nothing_is_stored(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    for action in ("login_mode=sometimes", "logout_time=abc", "token_page_size=0",
                   "timeout_action=explode", "default_tokentype=nosuchtype"):  # fmt: skip
        answer = client.post("/policy/bad", data=policy_data({"scope": "webui", "action": action}),
                             headers=admin_headers)  # fmt: skip
        assert answer.status_code == 400, (action, answer.text)
    assert ok(client.get("/policy/", headers=admin_headers))["result"]["value"] == []


def test_login_form_realms_from_policies_that_name_no_user(
    client: TestClient, flatfile_realm: str, set_policy: SetPolicy
) -> None:
    assert ok(client.get("/auth/login_settings"))["result"]["value"] == {"realm_dropdown": []}
    set_policy("dropdown", scope="webui", action="realm_dropdown=realm1 realm2")
    set_policy("for-bob", scope="webui", user="bob", action="realm_dropdown=secret-realm")
    assert ok(client.get("/auth/login_settings"))["result"]["value"] == {
        "realm_dropdown": ["realm1", "realm2"]
    }


def _admin(client: TestClient) -> dict[str, str]:
    return {"Authorization": settings_of(client, ADMIN_NAME, ADMIN_PASSWORD)["token"]}


def test_login_answer_lists_the_rights_the_admin_policies_grant(
    client: TestClient, flatfile_realm: str, set_policy: SetPolicy
) -> None:
    everything = settings_of(client, ADMIN_NAME, ADMIN_PASSWORD)["rights"]
    assert {"delete", "enable", "eventhandling_write"} <= set(everything)
    set_policy("helpdesk", scope="admin", realm="realm1", adminuser=ADMIN_NAME,
               action="enable, disable, tokenlist, otp_pin_maxlength=8")  # fmt: skip
    assert settings_of(client, ADMIN_NAME, ADMIN_PASSWORD)["rights"] == [
        "disable", "enable", "tokenlist",
    ]  # fmt: skip
