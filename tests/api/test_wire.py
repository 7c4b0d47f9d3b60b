"""privacyIDEA's wire conventions: envelope, parameter merging, error mapping."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD


def test_envelope_fields(client: TestClient, admin_headers: dict[str, str]) -> None:
    body = client.get("/audit/", headers=admin_headers).json()
    assert body["jsonrpc"] == "2.0"
    assert body["id"] == 1
    assert body["versionnumber"] == "3.14"
    assert isinstance(body["time"], float)
    assert body["version"].startswith("Factorflow")


def test_nonce_is_echoed(client: TestClient, admin_headers: dict[str, str]) -> None:
    body = client.get("/audit/", params={"nonce": "abc123"}, headers=admin_headers).json()
    assert body["nonce"] == "abc123"


def test_parameters_from_query_form_and_json(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    ok_query = client.post("/auth", params={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    ok_form = client.post("/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    ok_json = client.post("/auth", json={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    ok_multipart = client.post(
        "/auth", files={"username": (None, ADMIN_NAME), "password": (None, ADMIN_PASSWORD)}
    )
    for response in (ok_query, ok_form, ok_json, ok_multipart):
        assert response.status_code == 200, response.text
    # The JSON body overrides the query string.
    mixed = client.post(
        "/auth",
        params={"password": "wrong"},
        json={"username": ADMIN_NAME, "password": ADMIN_PASSWORD},
    )
    assert mixed.status_code == 200


def test_form_values_are_url_decoded_once_more(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    # "admin-password-1" with the dash percent-encoded inside the already-encoded form value.
    encoded = ADMIN_PASSWORD.replace("-", "%2D")
    response = client.post("/auth", data={"username": ADMIN_NAME, "password": encoded})
    assert response.status_code == 200
    exempt = client.post(
        "/auth",
        data={"username": ADMIN_NAME, "password": encoded},
        headers={"User-Agent": "privacyidea-cp/2.0"},
    )
    assert exempt.status_code == 401


def test_bad_bodies_are_400_envelopes(client: TestClient) -> None:
    cases = [
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, "JSON"),
        ({"content": b"[1,2]", "headers": {"Content-Type": "application/json"}}, "object"),
        (
            {
                "content": b"\xff\xfe=\xff",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            "UTF-8",
        ),
        ({"content": b"hello", "headers": {"Content-Type": "text/plain"}}, "content type"),
        (
            {
                "content": b"username=a%00b&password=x",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            "NUL",
        ),
    ]
    for kwargs, fragment in cases:
        response = client.post("/auth", **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 400, (kwargs, response.text)
        body = response.json()
        assert body["result"]["status"] is False
        assert fragment in body["result"]["error"]["message"]


def test_oversized_body_is_413(client: TestClient) -> None:
    response = client.post(
        "/auth",
        content=b"x=" + b"a" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.json()["result"]["status"] is False


def test_unknown_route_and_method_use_the_envelope(client: TestClient) -> None:
    missing = client.get("/no/such/endpoint")
    assert missing.status_code == 404
    assert missing.json()["result"]["error"]["code"] == 601
    wrong_method = client.put("/auth")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["result"]["status"] is False


def test_openapi_schema_describes_parameters(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    auth = schema["paths"]["/auth"]["post"]
    body = auth["requestBody"]["content"]
    assert set(body) >= {"application/json", "application/x-www-form-urlencoded"}
    assert set(body["application/json"]["schema"]["required"]) == {"username", "password"}


def test_interactive_docs_are_served_without_a_cdn(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "unpkg" not in page.text.lower()
    script = next(line for line in page.text.splitlines() if "swagger-ui-bundle.js" in line)
    src = script.split('src="')[1].split('"')[0]
    assert client.get(src).status_code == 200


def test_error_envelope_has_no_versionnumber(client: TestClient) -> None:
    # privacyIDEA 3.14 (the capture in tests/compat): errors carry "version" only.
    body = client.get("/token/").json()
    assert body["result"]["status"] is False
    assert set(body) == {"jsonrpc", "id", "result", "detail", "version", "time"}
