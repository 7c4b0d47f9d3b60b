"""Sessions end before their JWT expires: logout, a new password, a deleted admin.

Issue 12 item 2. A refused JWT answers like an expired one (401, code 4305), on
every node (the state is in the database)."""

from __future__ import annotations

from datetime import timedelta

import jwt
from httpx import Response
from sqlalchemy import func, select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.auth.models import RevokedSession
from factorflow.bootstrap import Services
from factorflow.crypto import ensure_key_file
from factorflow.db.base import utcnow
from tests.api.conftest import Node
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD, bearer, user_headers

H = dict[str, str]


def refused(response: Response) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["result"]["error"]
    assert error == {"code": 4305, "message": "Authentication failure. Your token has expired."}


def login(client: TestClient, username: str = ADMIN_NAME, password: str = ADMIN_PASSWORD) -> H:
    response = client.post("/auth", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return bearer(response.json()["result"]["value"]["token"])


def last_info(services: Services, action: str) -> str:
    with services.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
        ).first()
        assert entry is not None
        return entry.info


def test_a_deleted_admin_s_jwt_is_refused(
    client: TestClient, services: Services, admin_headers: H
) -> None:
    assert client.get("/audit/", headers=admin_headers).status_code == 200
    with services.sessions.begin() as session:
        services.admins.delete(session, ADMIN_NAME)
    refused(client.get("/audit/", headers=admin_headers))
    assert "no longer exists" in last_info(services, "GET /audit/")
    # A new admin of the same name does not bring the old session back.
    with services.sessions.begin() as session:
        services.admins.add(session, ADMIN_NAME, ADMIN_PASSWORD)
    refused(client.get("/audit/", headers=admin_headers))
    assert client.get("/audit/", headers=login(client)).status_code == 200


def test_a_new_password_ends_the_admin_s_older_sessions(
    client: TestClient, services: Services, admin_headers: H
) -> None:
    with services.sessions.begin() as session:
        services.admins.set_password(session, ADMIN_NAME, "a-new-password-2")
    refused(client.get("/audit/", headers=admin_headers))
    assert "password" in last_info(services, "GET /audit/")
    fresh = login(client, password="a-new-password-2")
    assert client.get("/audit/", headers=fresh).status_code == 200


def test_logout_revokes_only_that_session(
    client: TestClient, services: Services, admin_headers: H
) -> None:
    other = login(client)
    response = client.delete("/auth", headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["value"] is True
    refused(client.get("/audit/", headers=admin_headers))
    assert "logout" in last_info(services, "GET /audit/")
    assert client.get("/audit/", headers=other).status_code == 200
    refused(client.delete("/auth", headers=admin_headers))


def test_logout_revokes_a_realm_user_s_jwt(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    alice = user_headers(client, "alice")
    assert client.get("/token/", headers=alice).status_code == 200
    assert client.delete("/auth", headers=alice).status_code == 200
    refused(client.get("/token/", headers=alice))


def test_a_revoked_jwt_on_a_public_endpoint_is_nobody(
    client: TestClient, services: Services, admin_headers: H
) -> None:
    assert client.delete("/auth", headers=admin_headers).status_code == 200
    response = client.post(
        "/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD}, headers=admin_headers
    )
    assert response.status_code == 200, response.text


def test_logout_forgets_revocations_of_expired_jwts(
    client: TestClient, services: Services, admin_headers: H
) -> None:
    with services.sessions.begin() as session:
        session.add(RevokedSession(session_id="a" * 32, expires_at=utcnow() - timedelta(seconds=1)))
        session.add(RevokedSession(session_id="b" * 32, expires_at=utcnow() + timedelta(hours=1)))
    assert client.delete("/auth", headers=admin_headers).status_code == 200
    with services.sessions() as session:
        ids = set(session.scalars(select(RevokedSession.session_id)))
    assert "a" * 32 not in ids and "b" * 32 in ids and len(ids) == 2


def test_a_jwt_without_a_session_id_is_refused(client: TestClient, services: Services) -> None:
    with services.sessions.begin() as session:
        services.admins.add(session, ADMIN_NAME, ADMIN_PASSWORD)
    secret = ensure_key_file(services.settings.effective_jwt_secret_file, size=64)
    old = jwt.encode(
        {"username": ADMIN_NAME, "role": "admin", "exp": utcnow() + timedelta(minutes=5)}, secret
    )
    refused(client.get("/audit/", headers={"Authorization": old}))


def test_logout_needs_a_valid_jwt_and_changes_nothing_otherwise(
    client: TestClient, services: Services, admin_headers: H
) -> None:
    missing = client.delete("/auth")
    assert missing.status_code == 401
    assert missing.json()["result"]["error"]["code"] == 4033
    garbage = client.delete("/auth", headers={"Authorization": "not-a-jwt"})
    assert garbage.status_code == 401
    assert garbage.json()["result"]["error"]["code"] == 4304
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RevokedSession)) == 0


def test_a_logout_on_one_node_holds_on_another(
    client: TestClient, second_node: Node, admin_headers: H
) -> None:
    assert second_node.client.get("/audit/", headers=admin_headers).status_code == 200
    assert client.delete("/auth", headers=admin_headers).status_code == 200
    refused(second_node.client.get("/audit/", headers=admin_headers))
