"""What a user's self-service enrolment form is built from: ``GET /token/types/`` with
a user JWT answers the descriptions of exactly the types ``POST /token/init`` lets that
user enrol. Both match the user policies (``enroll<TYPE>``) against the same facts:
the user's realm, login, user store and attributes."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import user_headers
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import assert_error, ok

H = dict[str, str]


def types_of(client: TestClient, headers: H) -> dict[str, Any]:
    value: dict[str, Any] = ok(client.get("/token/types/", headers=headers))["result"]["value"]
    return value


def rights_of(client: TestClient, headers: H) -> list[str]:
    return list(ok(client.get("/auth/rights", headers=headers))["result"]["value"])


def assert_listed_is_enrollable(client: TestClient, headers: H, listed: list[str]) -> None:
    """Every self-service type the list offers enrols; every other is refused (403)."""
    for kind in ("hotp", "totp"):
        reply = client.post("/token/init", data={"type": kind, "genkey": "1"}, headers=headers)
        if kind in listed:
            assert reply.status_code == 200, reply.text
        else:
            assert_error(reply, 403, 303)
            assert_error(client.get(f"/token/types/{kind}", headers=headers), 403, 303)


def test_a_user_reads_the_same_descriptions_as_an_admin_for_the_types_he_may_enrol(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    alice = user_headers(client, "alice")
    mine = types_of(client, alice)
    # The self-service types (a user registers his own phone, security key, passkey or
    # certificate request too).
    assert list(mine) == ["certificate", "hotp", "passkey", "push", "totp", "webauthn", "yubico"]
    everything = types_of(client, admin_headers)
    for kind, described in mine.items():
        assert described == everything[kind]
    assert "timeStep" in mine["totp"]["options"] and "otplen" in mine["hotp"]["options"]
    assert ok(client.get("/token/types/totp", headers=alice))["result"]["value"] == {
        "totp": mine["totp"]
    }


def test_a_policy_for_another_user_store_does_not_list_its_type(
    client: TestClient, admin_headers: H, flatfile_realm: str, set_policy: SetPolicy
) -> None:
    """alice's store is resolver1: the grant of TOTP to resolver2's users is not hers,
    neither for /token/init nor in the list her form is built from."""
    set_policy("self-hotp", scope="user", action="enrollHOTP", realm="realm1",
               resolver="resolver1")  # fmt: skip
    set_policy("self-totp", scope="user", action="enrollTOTP", realm="realm1",
               resolver="resolver2")  # fmt: skip
    alice = user_headers(client, "alice")
    listed = list(types_of(client, alice))
    assert listed == ["hotp"]
    assert rights_of(client, alice) == ["hotp"]
    assert_listed_is_enrollable(client, alice, listed)


def test_a_policy_on_user_attributes_lists_the_types_of_the_users_it_matches(
    client: TestClient, admin_headers: H, flatfile_realm: str, set_policy: SetPolicy
) -> None:
    """A condition on the user's attributes decides for the list as for /token/init
    (without the attributes it could not be decided and the list was refused)."""
    set_policy("alice-totp", scope="user", action="enrollTOTP", realm="realm1",
               conditions=[["userinfo", "email", "equals", "alice@example.com", True]])  # fmt: skip
    set_policy("bob-hotp", scope="user", action="enrollHOTP", realm="realm1",
               conditions=[["userinfo", "email", "equals", "bob@example.com", True]])  # fmt: skip
    alice, bob = user_headers(client, "alice"), user_headers(client, "bob")
    assert list(types_of(client, alice)) == ["totp"]
    assert list(types_of(client, bob)) == ["hotp"]
    assert rights_of(client, alice) == ["totp"]
    assert_listed_is_enrollable(client, alice, ["totp"])
    assert_listed_is_enrollable(client, bob, ["hotp"])
