from __future__ import annotations

from datetime import timedelta

import jwt
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.crypto import ensure_key_file
from factorflow.db.base import utcnow
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD


def test_admin_login_returns_privacyidea_shape(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = client.post("/auth", json={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    body = response.json()
    assert response.status_code == 200
    assert body["result"]["status"] is True
    assert body["result"]["authentication"] == "ACCEPT"
    value = body["result"]["value"]
    assert value["role"] == "admin"
    assert value["username"] == ADMIN_NAME
    assert value["token"].count(".") == 2
    assert "tokenlist" in value["rights"]
    assert "tokens" in value["menus"]


def test_wrong_admin_password_is_401_with_bare_message(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = client.post("/auth", data={"username": ADMIN_NAME, "password": "wrong-password"})
    body = response.json()
    assert response.status_code == 401
    assert body["result"]["status"] is False
    assert body["result"]["error"]["code"] == 4031
    assert body["result"]["error"]["message"] == "Authentication failure. Wrong credentials"


def test_missing_password_is_a_parameter_error(client: TestClient) -> None:
    response = client.post("/auth", data={"username": "someone"})
    assert response.status_code == 400
    error = response.json()["result"]["error"]
    assert error["code"] == 905
    assert "password" in error["message"]


def test_jwt_accepted_raw_and_as_bearer(client: TestClient, admin_headers: dict[str, str]) -> None:
    raw = admin_headers["Authorization"]
    for headers in (
        {"Authorization": raw},
        {"Authorization": f"Bearer {raw}"},
        {"PI-Authorization": raw},
    ):
        response = client.get("/audit/", headers=headers)
        assert response.status_code == 200, (headers, response.text)


def test_missing_forged_and_expired_jwts_are_refused(
    client: TestClient, services: Services
) -> None:
    assert client.get("/audit/").json()["result"]["error"]["code"] == 4033
    forged = jwt.encode(
        {"username": "admin", "role": "admin", "exp": utcnow() + timedelta(hours=1)}, "x" * 32
    )
    response = client.get("/audit/", headers={"Authorization": forged})
    assert response.status_code == 401
    assert response.json()["result"]["error"]["code"] == 4304
    secret = ensure_key_file(services.settings.effective_jwt_secret_file, size=64)
    old = jwt.encode(
        {"username": "admin", "role": "admin", "exp": utcnow() - timedelta(minutes=1)}, secret
    )
    response = client.get("/audit/", headers={"Authorization": old})
    assert response.status_code == 401
    assert response.json()["result"]["error"]["code"] == 4305


def test_unknown_admin_and_unknown_user_look_the_same(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    a = client.post("/auth", data={"username": "nobody-here", "password": "whatever-1"})
    b = client.post("/auth", data={"username": ADMIN_NAME, "password": "whatever-1"})
    assert a.status_code == b.status_code == 401
    assert a.json()["result"]["error"] == b.json()["result"]["error"]
