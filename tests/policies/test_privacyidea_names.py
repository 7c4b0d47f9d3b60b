"""Issue 13 item 9: privacyIDEA 3.14's action names, scopes and values, and Factorflow's
earlier names accepted with a warning."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from factorflow.tokens.helpdesk import password_alphabets, random_secret
from tests.conftest import user_headers
from tests.policies.conftest import SetPolicy, policy_data
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, assert_error, check, init_token, ok

#: privacyIDEA 3.14's documentation: (scope, action) → type (and allowed values).
PRIVACYIDEA: list[tuple[str, str, str]] = [
    ("authorization", "last_auth", "str"),
    ("enrollment", "losttoken_PW_length", "int"),
    ("enrollment", "losttoken_PW_contents", "str"),
    ("enrollment", "losttoken_valid", "int"),
    ("authentication", "passthru", "str"),
    *[
        (scope, name, kind)
        for scope in ("admin", "user")
        for name, kind in (
            ("otp_pin_minlength", "int"), ("otp_pin_maxlength", "int"),
            ("otp_pin_contents", "str"), ("otp_pin_set_random", "int"),
            ("hotp_otplen", "int"), ("hotp_hashlib", "str"), ("totp_otplen", "int"),
            ("totp_hashlib", "str"), ("totp_timestep", "int"),
            ("set_custom_user_attributes", "str"), ("delete_custom_user_attributes", "str"),
        )
    ],
]  # fmt: skip
EARLIER = [
    ("authorization", "lastauth"), ("enrollment", "lostTokenPWLen"),
    ("enrollment", "lostTokenPWContents"), ("enrollment", "lostTokenValid"),
    ("enrollment", "otp_pin_minlength"), ("enrollment", "otp_pin_maxlength"),
    ("enrollment", "otp_pin_contents"), ("enrollment", "hotp_otplen"),
    ("enrollment", "hotp_hashlib"), ("enrollment", "totp_otplen"),
    ("enrollment", "totp_hashlib"), ("enrollment", "totp_timestep"),
    ("enrollment", "otp_pin_random"),
]  # fmt: skip


def _defs(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    value: dict[str, Any] = ok(client.get("/policy/defs", headers=headers))["result"]["value"]
    return value


def test_the_catalog_has_privacyideas_names_scopes_and_types(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    defs = _defs(client, admin_headers)
    for scope, name, kind in PRIVACYIDEA:
        assert defs[scope][name]["type"] == kind, (scope, name)
    for scope, name in EARLIER:
        assert name not in defs[scope], (scope, name)
    # privacyIDEA's allowed values
    assert defs["admin"]["otp_pin_maxlength"]["max"] == 31
    assert defs["user"]["otp_pin_set_random"]["min"] == 1
    assert defs["admin"]["hotp_otplen"]["value"] == ["6", "8"]
    assert defs["user"]["totp_timestep"]["value"] == ["30", "60"]
    assert defs["enrollment"]["losttoken_valid"]["max"] == 60
    assert defs["authentication"]["passthru"]["value"] == ["userstore"]


def _save(client: TestClient, headers: dict[str, str], name: str, **fields: Any) -> Any:
    response = client.post(f"/policy/{name}", data=policy_data(fields), headers=headers)
    return ok(response)


def _policy(client: TestClient, headers: dict[str, str], name: str) -> dict[str, Any]:
    value: dict[str, Any] = ok(client.get(f"/policy/{name}", headers=headers))["result"]["value"]
    return value


def test_an_earlier_name_is_stored_as_privacyideas_with_a_warning(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    body = _save(client, admin_headers, "old", scope="enrollment",
                 action="lostTokenValid=5, lostTokenPWLen=12, max_token_per_user=3")  # fmt: skip
    warnings = body["detail"]["warnings"]
    assert any("'lostTokenValid'" in w and "'losttoken_valid'" in w for w in warnings)
    got = _policy(client, admin_headers, "old")
    assert got["action"] == {
        "losttoken_valid": 5, "losttoken_PW_length": 12, "max_token_per_user": 3
    }  # fmt: skip
    # privacyIDEA's names answer without warnings
    body = _save(client, admin_headers, "new", scope="authorization", action="last_auth=30d")
    assert "warnings" not in (body.get("detail") or {})


def test_enrollment_pin_rules_move_to_admin_and_user_siblings(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    body = _save(client, admin_headers, "pins", scope="enrollment", realm="realm1", priority=2,
                 action="otp_pin_minlength=6, hotp_otplen=8, max_token_per_user=3")  # fmt: skip
    assert any("pins.admin" in w for w in body["detail"]["warnings"])
    assert _policy(client, admin_headers, "pins")["action"] == {"max_token_per_user": 3}
    for scope in ("admin", "user"):
        sibling = _policy(client, admin_headers, f"pins.{scope}")
        assert sibling["scope"] == scope
        assert sibling["action"] == {"otp_pin_minlength": 6, "hotp_otplen": 8}
        assert (sibling["realm"], sibling["priority"]) == (["realm1"], 2)
    # Saving again updates the siblings instead of adding more, and keeps the enrollment
    # policy's own actions.
    _save(client, admin_headers, "pins", action="otp_pin_minlength=7")
    assert _policy(client, admin_headers, "pins.admin")["action"]["otp_pin_minlength"] == 7
    assert _policy(client, admin_headers, "pins.user")["action"]["otp_pin_minlength"] == 7
    assert _policy(client, admin_headers, "pins")["action"] == {"max_token_per_user": 3}
    names = [
        p["name"] for p in ok(client.get("/policy/", headers=admin_headers))["result"]["value"]
    ]
    assert sorted(names) == ["pins", "pins.admin", "pins.user"]


def test_a_sibling_name_taken_by_another_scope_is_passed_over(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    _save(client, admin_headers, "pins.admin", scope="authorization", action="last_auth=9d")
    for length in (6, 7):
        _save(client, admin_headers, "pins", scope="enrollment",
              action=f"otp_pin_minlength={length}, max_token_per_user=1")  # fmt: skip
    policies = ok(client.get("/policy/", headers=admin_headers))["result"]["value"]
    assert {p["name"]: (p["scope"], p["action"]) for p in policies} == {
        "pins": ("enrollment", {"max_token_per_user": 1}),
        "pins.admin": ("authorization", {"last_auth": "9d"}),
        "pins.admin2": ("admin", {"otp_pin_minlength": 7}),
        "pins.user": ("user", {"otp_pin_minlength": 7}),
    }


def test_an_enrollment_policy_of_pin_rules_only_becomes_the_admin_policy(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    _save(client, admin_headers, "only", scope="enrollment", action="otp_pin_random=6")
    assert _policy(client, admin_headers, "only")["scope"] == "admin"
    assert _policy(client, admin_headers, "only")["action"] == {"otp_pin_set_random": 6}
    assert _policy(client, admin_headers, "only.user")["action"] == {"otp_pin_set_random": 6}
    # The same script again: the admin policy and its user sibling change, no third one.
    _save(client, admin_headers, "only", scope="enrollment", action="otp_pin_random=8")
    policies = ok(client.get("/policy/", headers=admin_headers))["result"]["value"]
    assert {p["name"]: p["action"] for p in policies} == {
        "only": {"otp_pin_set_random": 8}, "only.user": {"otp_pin_set_random": 8}
    }  # fmt: skip


def test_a_bare_earlier_boolean_gets_privacyideas_value(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    body = _save(client, admin_headers, "attrs", scope="admin", action="policyread, "
                 "policywrite, set_custom_user_attributes, delete_custom_user_attributes")  # fmt: skip
    assert len(body["detail"]["warnings"]) == 2
    assert _policy(client, admin_headers, "attrs")["action"] == {
        "policyread": True, "policywrite": True,
        "set_custom_user_attributes": ":*: *", "delete_custom_user_attributes": "*",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("scope", "action"),
    [
        ("enrollment", "otp_pin_minlength=40"),  # moved, then out of privacyIDEA's range
        ("enrollment", "hotp_otplen=7"),
        ("admin", "set_custom_user_attributes=department"),  # no :key: group
        ("authentication", "passthru=radius1"),  # no RADIUS configurations here
        ("admin", "last_auth=30d"),  # an authorization action
    ],
)
def test_bad_values_of_translated_actions_are_refused_and_nothing_is_stored(
    client: TestClient, admin_headers: dict[str, str], scope: str, action: str
) -> None:
    data = {"scope": scope, "action": action}
    assert_error(client.post("/policy/bad", data=data, headers=admin_headers), 400, 905)
    assert ok(client.get("/policy/", headers=admin_headers))["result"]["value"] == []


def _init(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    return client.post("/token/init", data={"type": "hotp", "genkey": 1, **params}, headers=headers)


def test_admin_scope_pin_rules_refuse_a_short_pin_of_an_admin(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    set_policy("admin-pins", scope="admin", action="otp_pin_minlength=6, otp_pin_contents=n")
    body = assert_error(_init(client, admin_headers, user="alice", pin="123"), 403, 303)
    assert "minimum OTP PIN length is 6" in body["result"]["error"]["message"]
    assert_error(_init(client, admin_headers, user="alice", pin="abcdef"), 403, 303)
    params = {"user": "alice", "pin": "123456", "genkey": 0, "otpkey": RFC_KEY_HEX}
    serial = ok(_init(client, admin_headers, **params))["detail"]["serial"]
    # /token/setpin checks them too, and a refused PIN changes nothing
    data = {"serial": serial, "otppin": "12"}
    assert_error(client.post("/token/setpin", data=data, headers=admin_headers), 403, 303)
    assert check(client, user="alice", **{"pass": "123456" + RFC4226_OTPS[0]})["result"]["value"]
    # A policy of PIN rules only takes no rights away: the admin still disables tokens.
    ok(client.post(f"/token/disable/{serial}", headers=admin_headers))


def test_user_scope_pin_rules_refuse_a_short_pin_of_the_user(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    set_policy("user-pins", scope="user", action="otp_pin_minlength=5")
    alice = user_headers(client, "alice")
    body = assert_error(_init(client, alice, pin="1234"), 403, 303)
    assert "minimum OTP PIN length is 5" in body["result"]["error"]["message"]
    serial = ok(_init(client, alice, pin="12345"))["detail"]["serial"]
    data = {"serial": serial, "otppin": "999"}
    assert_error(client.post("/token/setpin", data=data, headers=alice), 403, 303)
    ok(client.post("/token/setpin", data={"serial": serial, "otppin": "99999"}, headers=alice))
    # The user scope rules are the user's: an admin enrols the short PIN.
    ok(_init(client, admin_headers, user="alice", realm="realm1", pin="12"))


def test_forced_values_follow_the_acting_scope(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    set_policy("user-oath", scope="user", action="hotp_otplen=8")
    alice = user_headers(client, "alice")
    mine = ok(_init(client, alice, otplen=6))["detail"]["serial"]
    theirs = ok(_init(client, admin_headers, otplen=6))["detail"]["serial"]
    tokens = ok(client.get("/token/", headers=admin_headers))["result"]["value"]["tokens"]
    otplen = {t["serial"]: t["otplen"] for t in tokens}
    assert (otplen[mine], otplen[theirs]) == (8, 6)


def test_earlier_enrollment_pin_rules_still_hold_for_admins_and_users(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    """What an operator's scripts wrote before keeps its meaning: every enrolment."""
    set_policy("legacy", scope="enrollment", action="otp_pin_minlength=6", realm="realm1")
    assert_error(_init(client, admin_headers, user="alice", realm="realm1", pin="123"), 403)
    assert_error(_init(client, user_headers(client, "bob"), pin="123"), 403)
    ok(_init(client, admin_headers, user="alice", realm="realm1", pin="123456"))


def test_lost_token_password_classes_of_privacyidea(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    init_token(client, admin_headers, type="hotp", serial="LOST1", otpkey=RFC_KEY_HEX,
               user="alice", realm="realm1", pin="1234")  # fmt: skip
    set_policy("lost", scope="enrollment",
               action="losttoken_PW_length=20, losttoken_PW_contents=8, losttoken_valid=1")  # fmt: skip
    value = ok(client.post("/token/lost/LOST1", headers=admin_headers))["result"]["value"]
    password = value["password"]
    assert len(password) == 20  # of the Base58 alphabet only: no 0, O, I, l
    assert set(password) <= set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
    assert check(client, user="alice", **{"pass": "1234" + password})["result"]["value"]
    assert not check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]})["result"]["value"]


@pytest.mark.parametrize(
    ("contents", "classes"),
    [("C", ["upper"]), ("cs", ["lower", "special"]), ("Cn", ["upper", "digit"])],
)
def test_each_password_class_of_losttoken_PW_contents_is_present(
    contents: str, classes: list[str]
) -> None:
    tests = {"upper": str.isupper, "lower": str.islower, "digit": str.isdigit,
             "special": lambda c: not c.isalnum()}  # fmt: skip
    for _ in range(20):
        password = random_secret(len(classes), *password_alphabets(contents))
        assert all(any(tests[name](c) for c in password) for name in classes), password
