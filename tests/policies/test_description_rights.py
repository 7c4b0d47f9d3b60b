"""Reading a description needs the right to read what it describes: resolverread for
user-store types, smtpserver_read, smsgateway_read and privacyideaserver_read for the
configuration options; token types are those the caller may enrol. A refusal is
privacyIDEA's 403 envelope (code 303)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import user_headers
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import assert_error, ok

H = dict[str, str]

DESCRIPTIONS = {
    "/resolver/types/": "resolverread",
    "/smtpserver/options": "smtpserver_read",
    "/smsgateway/providers": "smsgateway_read",
    "/privacyideaserver/options": "privacyideaserver_read",
    "/radiusserver/options": "radiusserver_read",
    "/eventstream/options": "eventstream_read",
}


@pytest.fixture
def helpdesk_in_realm1(set_policy: SetPolicy) -> None:
    """The help desk may list and enrol HOTP tokens in realm1, nothing else; the
    superuser keeps every right."""
    set_policy("super", scope="admin", adminuser="admin",
               action=", ".join([*DESCRIPTIONS.values(), "enrollTOTP", "policywrite"]))  # fmt: skip
    set_policy("helpdesk-a", scope="admin", action="tokenlist, enrollHOTP",
               adminuser="helpdesk", realm="realm1")  # fmt: skip


@pytest.mark.parametrize(("path", "right"), list(DESCRIPTIONS.items()))
def test_a_realm_limited_admin_without_the_read_right_gets_403(
    client: TestClient, admin_headers: H, helpdesk_headers: H, flatfile_realm: str,
    helpdesk_in_realm1: None, path: str, right: str,
) -> None:  # fmt: skip
    body = assert_error(client.get(path, headers=helpdesk_headers), 403, 303)
    assert body["result"]["error"]["message"] == (
        f"Admin actions are defined, but the action {right} is not allowed!"
    )
    assert body["result"]["status"] is False and "value" not in body["result"]
    ok(client.get(path, headers=admin_headers))


def test_the_read_right_in_a_realm_is_enough(
    client: TestClient, admin_headers: H, helpdesk_headers: H, flatfile_realm: str,
    set_policy: SetPolicy,
) -> None:  # fmt: skip
    set_policy("super", scope="admin", adminuser="admin", action="policywrite")
    set_policy("helpdesk-a", scope="admin", adminuser="helpdesk", realm="realm1",
               action=", ".join(DESCRIPTIONS.values()))  # fmt: skip
    for path in DESCRIPTIONS:
        ok(client.get(path, headers=helpdesk_headers))


def test_token_types_are_those_the_admin_may_enrol(
    client: TestClient, admin_headers: H, helpdesk_headers: H, flatfile_realm: str,
    helpdesk_in_realm1: None,
) -> None:  # fmt: skip
    types = ok(client.get("/token/types/", headers=helpdesk_headers))["result"]["value"]
    assert list(types) == ["hotp"]
    ok(client.get("/token/types/hotp", headers=helpdesk_headers))
    body = assert_error(client.get("/token/types/totp", headers=helpdesk_headers), 403, 303)
    assert body["result"]["error"]["message"] == "You may not enroll tokens of type 'totp'."
    superuser = ok(client.get("/token/types/", headers=admin_headers))["result"]["value"]
    assert list(superuser) == ["totp"]


def test_token_types_follow_the_user_policies(
    client: TestClient, admin_headers: H, flatfile_realm: str, set_policy: SetPolicy
) -> None:
    alice = user_headers(client, "alice")
    assert "hotp" in ok(client.get("/token/types/", headers=alice))["result"]["value"]
    set_policy("self", scope="user", action="enrollTOTP", realm="realm1")
    types = ok(client.get("/token/types/", headers=alice))["result"]["value"]
    assert list(types) == ["totp"]
    assert_error(client.get("/token/types/hotp", headers=alice), 403, 303)
