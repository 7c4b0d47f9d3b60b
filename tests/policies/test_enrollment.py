"""Enrollment policies on /token/init: limits, PIN rules and forced per-type values."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from factorflow.errors import PolicyError
from factorflow.policies.enroll import EnrollPolicy, pin_has_contents
from tests.conftest import user_headers
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import assert_error, get_token, init_token


@pytest.mark.parametrize(
    ("pin", "rule", "expected"),
    [
        ("abc123", "cn", True),
        ("abcdef", "cn", False),
        ("abcdef", "+cn", True),
        ("!!!!", "+cn", False),
        ("abc1", "-s", True),
        ("abc!", "-s", False),
        ("a1!", "cns", True),
        ("a1ä", "cno", True),
    ],
)
def test_pin_contents(pin: str, rule: str, expected: bool) -> None:
    assert pin_has_contents(pin, rule) is expected


def test_pin_length_and_counts_units() -> None:
    policy = EnrollPolicy(pin_minlength=4, pin_maxlength=6, max_token_per_user=2)
    policy.check_pin(None)
    policy.check_pin("1234")
    with pytest.raises(PolicyError):
        policy.check_pin("123")
    with pytest.raises(PolicyError):
        policy.check_pin("1234567")
    policy.check_counts(1, None)
    with pytest.raises(PolicyError):
        policy.check_counts(2, None)


def test_max_token_per_user(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    set_policy("one-each", scope="enrollment", action="max_token_per_user=1")
    init_token(client, admin_headers, type="hotp", genkey=1, user="alice", realm="realm1")
    body = assert_error(
        client.post("/token/init", data={"type": "totp", "genkey": 1, "user": "alice",
                                          "realm": "realm1"}, headers=admin_headers),
        403, 303,
    )  # fmt: skip
    assert "limited to 1" in body["result"]["error"]["message"]
    init_token(client, admin_headers, type="hotp", genkey=1, user="bob", realm="realm1")
    alice = user_headers(client, "alice")
    assert_error(client.post("/token/init", data={"type": "totp", "genkey": 1}, headers=alice), 403)


def test_max_token_per_realm(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    set_policy("realm-cap", scope="enrollment", action="max_token_per_realm=2", realm="realm1")
    init_token(client, admin_headers, type="hotp", genkey=1, user="alice", realm="realm1")
    init_token(client, admin_headers, type="hotp", genkey=1, user="bob", realm="realm1")
    assert_error(
        client.post("/token/init", data={"type": "hotp", "genkey": 1, "user": "carol",
                                          "realm": "realm1"}, headers=admin_headers),
        403,
    )  # fmt: skip


def test_pin_rules(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    set_policy("pins", scope="admin",
               action="otp_pin_minlength=4, otp_pin_maxlength=8, otp_pin_contents=cn")  # fmt: skip
    for bad in ("a1", "abcdefgh1", "abcdef"):
        assert_error(client.post("/token/init", data={"type": "hotp", "genkey": 1, "pin": bad},
                                 headers=admin_headers), 403)  # fmt: skip
    init_token(client, admin_headers, type="hotp", genkey=1, pin="abc123")


def test_forced_type_values(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    set_policy("oath", scope="admin",
               action="hotp_otplen=8, hotp_hashlib=sha256, totp_otplen=8")  # fmt: skip
    serial = init_token(client, admin_headers, type="hotp", genkey=1, otplen=6)["detail"]["serial"]
    token = get_token(client, admin_headers, serial)
    assert token["otplen"] == 8
    assert token["info"].get("hashlib") == "sha256"
    serial = init_token(client, admin_headers, type="totp", genkey=1)["detail"]["serial"]
    assert get_token(client, admin_headers, serial)["otplen"] == 8
