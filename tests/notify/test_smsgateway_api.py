from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.notify.models import SmsGateway
from tests.notify.servers import SmsGatewayServer, free_port

H = dict[str, str]


def gateway_form(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "gw1",
        "module": "http",
        "option.URL": url,
        "option.HTTP_METHOD": "POST",
        "option.to": "{phone}",
        "option.text": "Your code: {otp}",
        "option.from": "Factorflow",
        "header.X-Api-Key": "key-123",
        "header.X-Tenant": "acme",
        **extra,
    }


def stored_count(services: Services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(SmsGateway)) or 0


def send_test_sms(client: TestClient, headers: dict[str, str]) -> None:
    r = client.post(
        "/smsgateway/send_test_sms",
        data={"identifier": "gw1", "phone": "+49 171 1234567", "message": "123456"},
        headers=headers,
    )
    assert r.status_code == 200, r.text


def test_crud_and_censored_headers(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    r = client.post(
        "/smsgateway", data=gateway_form("http://127.0.0.1:9/send"), headers=admin_headers
    )
    assert r.status_code == 200, r.text
    listing = client.get("/smsgateway/", headers=admin_headers).json()["result"]["value"]
    assert len(listing) == 1
    gw = listing[0]
    assert gw["name"] == "gw1"
    assert gw["options"]["URL"] == "http://127.0.0.1:9/send"
    assert gw["options"]["to"] == "{phone}"
    # Every header value is a secret: names do not tell which ones hold credentials.
    assert gw["headers"] == {"X-Api-Key": "__CENSORED__", "X-Tenant": "__CENSORED__"}
    # The censored header sent back keeps its stored value.
    form = gateway_form("http://127.0.0.1:9/v2", **{"header.X-Api-Key": "__CENSORED__"})
    assert client.post("/smsgateway", data=form, headers=admin_headers).status_code == 200
    with services.sessions() as session:
        config = services.notify.sms_settings(session, "gw1")
    assert config.headers["X-Api-Key"] == "key-123"
    assert config.url == "http://127.0.0.1:9/v2"
    one = client.get("/smsgateway/gw1", headers=admin_headers).json()["result"]["value"]
    assert [g["name"] for g in one] == ["gw1"]
    assert client.delete("/smsgateway/gw1", headers=admin_headers).status_code == 200
    assert client.get("/smsgateway/gw1", headers=admin_headers).status_code == 404
    assert client.delete("/smsgateway/gw1", headers=admin_headers).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"option.URL": "ftp://example.org/x"}, "option.URL"),
        ({"option.URL": "not a url"}, "option.URL"),
        ({"option.HTTP_METHOD": "PUT"}, "option.HTTP_METHOD"),
        ({"option.TIMEOUT": "0"}, "option.TIMEOUT"),
        ({"option.SUCCESS_STATUS": "200-99"}, "option.SUCCESS_STATUS"),
        ({"option.RETURN_SUCCESS": "(unclosed"}, "option.RETURN_SUCCESS"),
        ({"option.text": "Code {token}"}, "option.text"),
        ({"option.PROXY": "http://proxy:3128"}, "option.PROXY"),
        ({"module": "privacyidea.lib.smsprovider.SmtpSMSProvider.SmtpSMSProvider"}, "module"),
        ({"name": "bad name!"}, "name"),
        ({"header.X-Api-Key": "__CENSORED__"}, "header.X-Api-Key"),
    ],
)
def test_bad_gateway_is_refused_naming_the_field(
    client: TestClient, admin_headers: H, services: Services, change: dict[str, str], field: str
) -> None:
    form = {**gateway_form("http://127.0.0.1:9/send"), **change}
    r = client.post("/smsgateway", data=form, headers=admin_headers)
    assert r.status_code == 400, r.text
    assert f"'{field}'" in r.json()["result"]["error"]["message"]
    assert stored_count(services) == 0


def test_missing_url_and_name(client: TestClient, admin_headers: H) -> None:
    r = client.post("/smsgateway", data={"name": "gw1"}, headers=admin_headers)
    assert r.status_code == 400
    assert "'option.URL'" in r.json()["result"]["error"]["message"]
    r = client.post("/smsgateway", data={"option.URL": "http://x.example/"}, headers=admin_headers)
    assert r.status_code == 400
    assert "'name'" in r.json()["result"]["error"]["message"]


@pytest.mark.parametrize(("method", "json_body"), [("POST", "0"), ("GET", "0"), ("POST", "1")])
def test_send_test_sms_fills_the_templates(
    client: TestClient,
    admin_headers: H,
    sms_gateway: SmsGatewayServer,
    method: str,
    json_body: str,
) -> None:
    form = gateway_form(
        sms_gateway.url,
        **{"option.HTTP_METHOD": method, "option.SEND_DATA_AS_JSON": json_body},
    )
    assert client.post("/smsgateway", data=form, headers=admin_headers).status_code == 200
    send_test_sms(client, admin_headers)
    (request,) = sms_gateway.requests
    assert request.method == method
    sent = (
        request.query if method == "GET" else (request.json if json_body == "1" else request.form)
    )
    assert sent == {"to": "+49 171 1234567", "text": "Your code: 123456", "from": "Factorflow"}
    assert request.headers["x-api-key"] == "key-123"
    assert request.headers["idempotency-key"].startswith("test-")


def test_send_test_sms_failures_are_clear_4xx(
    client: TestClient, admin_headers: H, sms_gateway: SmsGatewayServer
) -> None:
    form = gateway_form(sms_gateway.url, **{"option.RETURN_SUCCESS": "^OK"})
    client.post("/smsgateway", data=form, headers=admin_headers)

    def test_send(phone: str = "+4917111") -> Any:
        return client.post(
            "/smsgateway/send_test_sms",
            data={"identifier": "gw1", "phone": phone},
            headers=admin_headers,
        )

    assert test_send().status_code == 200
    bad_phone = test_send("call me maybe")
    assert bad_phone.status_code == 400
    assert "'phone'" in bad_phone.json()["result"]["error"]["message"]
    sms_gateway.body = "ERROR no credit"
    r = test_send()
    assert r.status_code == 400
    assert "success pattern" in r.json()["result"]["error"]["message"]
    sms_gateway.status, sms_gateway.body = 500, "OK but broken"
    r = test_send()
    assert r.status_code == 400
    assert "HTTP 500" in r.json()["result"]["error"]["message"]
    unreachable = gateway_form(f"http://127.0.0.1:{free_port()}/send", name="gw2")
    client.post("/smsgateway", data=unreachable, headers=admin_headers)
    r = client.post(
        "/smsgateway/send_test_sms",
        data={"identifier": "gw2", "phone": "+4917111"},
        headers=admin_headers,
    )
    assert r.status_code == 400
    assert "unreachable" in r.json()["result"]["error"]["message"]
    r = client.post(
        "/smsgateway/send_test_sms",
        data={"identifier": "nope", "phone": "+4917111"},
        headers=admin_headers,
    )
    assert r.status_code == 404


def test_username_and_password_are_basic_auth_not_parameters(
    client: TestClient, admin_headers: H, sms_gateway: SmsGatewayServer, services: Services
) -> None:
    """privacyIDEA's HttpSMSProvider USERNAME/PASSWORD: HTTP basic authentication; the
    password is stored sealed and listed censored, neither is sent as a parameter."""
    form = gateway_form(sms_gateway.url, **{"option.USERNAME": "smsuser", "option.PASSWORD": "pw1"})
    assert client.post("/smsgateway", data=form, headers=admin_headers).status_code == 200
    (gw,) = client.get("/smsgateway/", headers=admin_headers).json()["result"]["value"]
    assert gw["options"]["USERNAME"] == "smsuser"
    assert gw["options"]["PASSWORD"] == "__CENSORED__"
    with services.sessions() as session:
        row = services.notify.get_sms(session, "gw1")
        assert row.parameters["PASSWORD"] != "pw1"
    send_test_sms(client, admin_headers)
    (request,) = sms_gateway.requests
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"smsuser:pw1").decode()
    assert "USERNAME" not in request.form and "PASSWORD" not in request.form
