"""``GET /auth/rights``: the token types the logged-in admin or user may enrol, as
privacyIDEA 3.14 answers it (type → description)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.conftest import user_headers
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import assert_error, ok


def _rights(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    value: dict[str, Any] = ok(client.get("/auth/rights", headers=headers))["result"]["value"]
    return value


def test_without_policies_admins_enrol_every_type_and_users_the_self_service_ones(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, services: Services
) -> None:
    admin = _rights(client, admin_headers)
    assert set(admin) == set(services.tokens.types)
    assert admin["hotp"].startswith("HOTP")
    user = _rights(client, user_headers(client, "alice"))
    self_service = {t for t in services.tokens.types if services.tokens.types[t].self_service}
    assert set(user) == self_service and "hotp" in user and "paper" not in user


def test_policies_decide_the_enrollable_types(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    flatfile_realm: str, set_policy: SetPolicy,
) -> None:  # fmt: skip
    set_policy("super", scope="admin", action="enrollHOTP, policywrite", adminuser="admin")
    set_policy("helpdesk", scope="admin", action="enrollTOTP, enrollSPASS, tokenlist",
               adminuser="helpdesk")  # fmt: skip
    assert set(_rights(client, helpdesk_headers)) == {"totp", "spass"}
    assert set(_rights(client, admin_headers)) == {"hotp"}
    # a policy of PIN rules only restricts nobody; a user policy with rights does
    set_policy("pins", scope="user", action="otp_pin_minlength=4")
    alice = user_headers(client, "alice")
    assert "hotp" in _rights(client, alice)
    set_policy("self", scope="user", action="enrollTOTP, enrollPAPER")
    assert set(_rights(client, alice)) == {"totp"}  # paper is no self-service type


def test_auth_rights_needs_a_login(client: TestClient) -> None:
    assert_error(client.get("/auth/rights"), 401)
    assert_error(client.get("/auth/rights", headers={"Authorization": "not-a-jwt"}), 401)
