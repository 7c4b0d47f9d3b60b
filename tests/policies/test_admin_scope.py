"""Admin rights: no admin policy → everything; with one → only what is granted where."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.api.app import collect_routes
from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.policies.rights import PUBLIC, RIGHTS
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import RFC_KEY_HEX, assert_error, init_token, ok


def _token(client: TestClient, headers: dict[str, str], serial: str, user: str, realm: str) -> None:
    init_token(client, headers, type="hotp", serial=serial, otpkey=RFC_KEY_HEX, user=user,
               realm=realm, pin="1234")  # fmt: skip


def test_every_route_event_has_a_right() -> None:
    events = {spec.endpoint.event for routes in collect_routes() for spec in routes.specs}
    missing = events - set(RIGHTS) - PUBLIC - {"token_init"}
    assert not missing, f"add these events to factorflow.policies.rights.RIGHTS: {missing}"


def test_no_admin_policy_allows_everything(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    flatfile_realm: str, set_policy: SetPolicy,
) -> None:  # fmt: skip
    set_policy("auth-only", scope="authentication", action="otppin=tokenpin")
    _token(client, admin_headers, "HOTP1", "alice", "realm1")
    ok(client.post("/token/disable/HOTP1", headers=helpdesk_headers))
    ok(client.get("/policy/", headers=helpdesk_headers))


def test_helpdesk_limited_to_realm_a_cannot_disable_in_realm_b(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    realm_b: str, set_policy: SetPolicy, services: Services,
) -> None:  # fmt: skip
    _token(client, admin_headers, "TOKA", "alice", "realm1")
    _token(client, admin_headers, "TOKB", "dave", "realm2")
    set_policy("helpdesk-a", scope="admin", action="disable, enable, tokenlist",
               adminuser="helpdesk", realm="realm1")  # fmt: skip

    body = assert_error(client.post("/token/disable/TOKB", headers=helpdesk_headers), 403, 303)
    assert body["result"]["error"]["message"] == (
        "Admin actions are defined, but the action disable is not allowed!"
    )
    # also by user, and the token stays enabled
    assert_error(client.post("/token/disable", data={"user": "dave", "realm": "realm2"},
                             headers=helpdesk_headers), 403)  # fmt: skip
    ok(client.post("/token/disable/TOKA", headers=helpdesk_headers))
    # rights are per action: reset was not granted anywhere
    assert_error(client.post("/token/reset/TOKA", headers=helpdesk_headers), 403)
    # the policy names the help desk only: the superuser is now restricted too
    assert_error(client.post("/token/disable/TOKA", headers=admin_headers), 403)

    with services.sessions() as session:
        entries = list(session.scalars(
            select(AuditEntry).where(AuditEntry.action == "POST /token/disable/<serial>")
            .order_by(AuditEntry.id)
        ))  # fmt: skip
    refused, granted = entries[0], entries[1]
    assert not refused.success and "disable" in refused.info
    assert granted.success and granted.policies == "helpdesk-a"


def test_client_networks_restrict_admins(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    flatfile_realm: str, set_policy: SetPolicy,
) -> None:  # fmt: skip
    _token(client, admin_headers, "TOKA", "alice", "realm1")
    set_policy("superuser", scope="admin", action="policywrite, policyread, disable",
               adminuser="admin")  # fmt: skip
    set_policy("hd-remote", scope="admin", action="disable", adminuser="helpdesk",
               client="192.0.2.0/24")  # fmt: skip
    inside = TestClient(client.app, raise_server_exceptions=False, client=("192.0.2.7", 4000))
    outside = TestClient(client.app, raise_server_exceptions=False, client=("198.51.100.7", 4000))
    assert_error(outside.post("/token/disable/TOKA", headers=helpdesk_headers), 403)
    ok(inside.post("/token/disable/TOKA", headers=helpdesk_headers))
    set_policy("hd-remote", client="!192.0.2.0/24")
    assert_error(inside.post("/token/enable/TOKA", headers=helpdesk_headers), 403)
    assert_error(outside.post("/token/enable/TOKA", headers=helpdesk_headers), 403)
    ok(outside.post("/token/disable/TOKA", headers=helpdesk_headers))
    assert_error(inside.post("/token/disable/TOKA", headers=helpdesk_headers), 403)


def test_enroll_rights_by_type(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    flatfile_realm: str, set_policy: SetPolicy,
) -> None:  # fmt: skip
    set_policy("hd", scope="admin", action="enrollTOTP", adminuser="helpdesk")
    ok(client.post("/token/init", data={"type": "totp", "genkey": 1}, headers=helpdesk_headers))
    body = assert_error(
        client.post("/token/init", data={"type": "hotp", "genkey": 1}, headers=helpdesk_headers),
        403,
    )
    assert "enrollHOTP" in body["result"]["error"]["message"]
