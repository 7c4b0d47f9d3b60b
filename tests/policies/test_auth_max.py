"""``auth_max_success`` / ``auth_max_fail``: N authentications per window, from the audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.db.base import utcnow
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, assert_error, check, init_token


@pytest.fixture
def tokens(client: TestClient, admin_headers: dict[str, str], flatfile_realm: str) -> None:
    for user in ("alice", "bob"):
        init_token(client, admin_headers, type="hotp", serial=f"HOTP-{user}",
                   otpkey=RFC_KEY_HEX, user=user, realm=flatfile_realm, pin="pin")  # fmt: skip


def _login(client: TestClient, otp_index: int, user: str = "alice", pin: str = "pin") -> str:
    body = check(client, user=user, **{"pass": pin + RFC4226_OTPS[otp_index]})
    assert body["result"]["authentication"] in ("ACCEPT", "REJECT"), body
    if body["result"]["authentication"] == "ACCEPT":
        return "ACCEPT"
    return str(body["detail"]["message"])


def _backdate(services: Services, age: timedelta) -> None:
    with services.sessions.begin() as session:
        session.execute(update(AuditEntry).values(date=utcnow() - age))


def _check_entries(services: Services, user: str = "alice") -> list[AuditEntry]:
    with services.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "POST /validate/check", AuditEntry.user == user)
                .order_by(AuditEntry.id)
            )
        )


def test_auth_max_success_rejects_after_n_successes_in_the_window(
    client: TestClient, tokens: None, set_policy: SetPolicy, services: Services
) -> None:
    set_policy("max-success", scope="authorization", action="auth_max_success=2/5m")
    assert _login(client, 1) == "ACCEPT"
    assert _login(client, 2) == "ACCEPT"
    assert _login(client, 3) == "Only 2 successful authentications per 0:05:00"
    # the refused OTP is used up, as privacyIDEA documents
    assert "previous otp used again" in _login(client, 3)
    assert _login(client, 1, user="bob") == "ACCEPT"  # other users have their own count

    refused = _check_entries(services)[2]
    assert refused.authentication == "REJECT" and not refused.success
    assert refused.info == "Only 2 successful authentications per 0:05:00"
    assert "max-success" in refused.policies

    _backdate(services, timedelta(minutes=5, seconds=1))
    assert _login(client, 4) == "ACCEPT"


def test_auth_max_fail_rejects_even_the_right_otp_after_n_failures(
    client: TestClient, tokens: None, set_policy: SetPolicy, services: Services
) -> None:
    set_policy("max-fail", scope="authorization", action="auth_max_fail=2/1h")
    assert _login(client, 1, pin="bad") == "wrong otp pin"
    assert _login(client, 1, pin="bad") == "wrong otp pin"
    assert _login(client, 1) == "Only 2 failed authentications per 1:00:00"
    assert _login(client, 1, user="bob") == "ACCEPT"

    refused = _check_entries(services)[2]
    assert refused.authentication == "REJECT"
    assert refused.info == "Only 2 failed authentications per 1:00:00"

    _backdate(services, timedelta(minutes=59))
    assert _login(client, 2) == "Only 2 failed authentications per 1:00:00"
    _backdate(services, timedelta(hours=1, seconds=1))
    assert _login(client, 3) == "ACCEPT"


def test_successes_do_not_count_as_failures(
    client: TestClient, tokens: None, set_policy: SetPolicy
) -> None:
    set_policy("max-fail", scope="authorization", action="auth_max_fail=1/5m")
    for index in range(1, 4):
        assert _login(client, index) == "ACCEPT"
    assert _login(client, 4, pin="bad") == "wrong otp pin"
    assert _login(client, 5) == "Only 1 failed authentications per 0:05:00"


def test_auth_cache_hits_count_as_successes(
    client: TestClient, tokens: None, set_policy: SetPolicy
) -> None:
    set_policy("cache", scope="authentication", action="auth_cache=1h")
    set_policy("max-success", scope="authorization", action="auth_max_success=2/5m")
    assert _login(client, 1) == "ACCEPT"
    body = check(client, user="alice", **{"pass": "pin" + RFC4226_OTPS[1]})
    assert body["detail"]["message"] == "Authenticated by AuthCache."
    assert _login(client, 1) == "Only 2 successful authentications per 0:05:00"


def test_no_limit_without_the_policy(client: TestClient, tokens: None) -> None:
    for _ in range(3):
        assert _login(client, 1, pin="bad") == "wrong otp pin"
    assert _login(client, 1) == "ACCEPT"


@pytest.mark.parametrize("action", ["auth_max_success", "auth_max_fail"])
@pytest.mark.parametrize("value", ["3", "3/", "/5m", "3/5", "x/5m", "3/5w", "3/5m/1"])
def test_invalid_limits_are_refused(
    client: TestClient, admin_headers: dict[str, str], action: str, value: str
) -> None:
    response = client.post(
        "/policy/limit",
        data={"scope": "authorization", "action": f"{action}={value}"},
        headers=admin_headers,
    )
    message = assert_error(response, 400)["result"]["error"]["message"]
    assert "'action'" in message and action in message, message
