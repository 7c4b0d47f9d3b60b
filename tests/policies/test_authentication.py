"""Authentication and authorization policies on /validate/check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.core.dates import timestamp
from factorflow.tokens.info import put_info
from factorflow.tokens.models import Token
from tests.conftest import USER_PASSWORDS
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, check, init_token


def _hotp(
    client: TestClient, headers: dict[str, str], pin: str = "1234", user: str = "alice"
) -> None:
    init_token(client, headers, type="hotp", serial=f"HOTP-{user}", otpkey=RFC_KEY_HEX,
               user=user, realm="realm1", pin=pin)  # fmt: skip


def _auth(body: dict[str, object]) -> str:
    result = body["result"]
    assert isinstance(result, dict)
    return str(result.get("authentication"))


def test_otppin_userstore_authenticates_with_password_and_otp(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    """An LDAP-style realm: the PIN part is the user-store password (here a crypt
    password of a flat-file store), not the token PIN."""
    _hotp(client, admin_headers, pin="tokenpin")
    set_policy("ldap-pin", scope="authentication", action="otppin=userstore", realm="realm1")
    password = USER_PASSWORDS["alice"]
    assert _auth(check(client, user="alice", **{"pass": password + RFC4226_OTPS[1]})) == "ACCEPT"
    body = check(client, user="alice", **{"pass": "tokenpin" + RFC4226_OTPS[2]})
    assert _auth(body) == "REJECT" and body["detail"]["message"] == "wrong otp pin"


def test_otppin_none(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    _hotp(client, admin_headers)
    set_policy("no-pin", scope="authentication", action="otppin=none")
    assert _auth(check(client, user="alice", **{"pass": RFC4226_OTPS[1]})) == "ACCEPT"


def test_passthru_pass_on_no_token_and_no_user(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    body = check(client, user="bob", **{"pass": USER_PASSWORDS["bob"]})
    assert _auth(body) == "REJECT"
    set_policy("passthru", scope="authentication", action="passthru=userstore", user="bob")
    assert _auth(check(client, user="bob", **{"pass": USER_PASSWORDS["bob"]})) == "ACCEPT"
    assert _auth(check(client, user="bob", **{"pass": "wrong"})) == "REJECT"
    set_policy("pass-no-token", scope="authentication", action="passOnNoToken", user="carol")
    assert _auth(check(client, user="carol", **{"pass": "anything"})) == "ACCEPT"
    response = client.post("/validate/check", data={"user": "nobody", "pass": "x"})
    assert response.status_code == 400
    set_policy("pass-no-user", scope="authentication", action="passOnNoUser")
    assert _auth(check(client, user="nobody", **{"pass": "x"})) == "ACCEPT"


@pytest.mark.parametrize("action", ["last_auth=180d", "lastauth=180d"])
def test_last_auth_rejects_a_token_unused_for_200_days(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy,
    services: Services, action: str,
) -> None:  # fmt: skip
    """privacyIDEA's ``last_auth``; Factorflow's earlier ``lastauth`` is read as it."""
    _hotp(client, admin_headers)
    _hotp(client, admin_headers, user="bob")
    long_ago = datetime.now(UTC) - timedelta(days=200)
    recently = datetime.now(UTC) - timedelta(days=100)
    with services.sessions.begin() as session:
        for serial, when in (("HOTP-alice", long_ago), ("HOTP-bob", recently)):
            token = session.scalar(select(Token).where(Token.serial == serial))
            assert token is not None
            put_info(session, token.id, "last_auth", timestamp(when))
    set_policy("lastauth", scope="authorization", action=action)
    body = check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[1]})
    assert _auth(body) == "REJECT", body
    assert "too long ago" in body["detail"]["message"]
    assert _auth(check(client, user="bob", **{"pass": "1234" + RFC4226_OTPS[1]})) == "ACCEPT"


def test_tokentype_and_details(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    _hotp(client, admin_headers)
    set_policy("details", scope="authorization", action="add_user_in_response")
    body = check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[1]})
    assert body["detail"]["user"]["username"] == "alice"
    set_policy("quiet", scope="authorization", action="no_detail_on_fail")
    body = check(client, user="alice", **{"pass": "1234000000"})
    assert _auth(body) == "REJECT"
    assert not body.get("detail")
    set_policy("totp-only", scope="authorization", action="tokentype=totp")
    body = check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[2]})
    assert _auth(body) == "REJECT"
