"""SMS gateway secrets (issue 12, item 6): header values and credential parameters are
sealed at rest, censored in answers, kept when the placeholder comes back, and sent
in the clear only to the gateway."""

from __future__ import annotations

from sqlalchemy import text
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.notify.servers import SmsGatewayServer

H = dict[str, str]
CENSORED = "__CENSORED__"


def stored_gateways(services: Services) -> str:
    with services.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM sms_gateway")).all()
    return " ".join(str(value) for row in rows for value in row)


def form(url: str, **extra: str) -> dict[str, str]:
    return {
        "name": "gw1",
        "option.URL": url,
        "option.to": "{phone}",
        "option.text": "{otp}",
        "option.api_password": "pw-5150",
        "header.Authorization": "Basic dXNlcjpwdw==",
        "header.X-Tenant": "acme",
        **extra,
    }


def test_gateway_secrets_are_sealed_censored_kept_and_sent(
    client: TestClient, admin_headers: H, services: Services, sms_gateway: SmsGatewayServer
) -> None:
    r = client.post("/smsgateway", data=form(sms_gateway.url), headers=admin_headers)
    assert r.status_code == 200, r.text
    stored = stored_gateways(services)
    for secret in ("pw-5150", "dXNlcjpwdw==", "acme"):
        assert secret not in stored
    assert "{phone}" in stored  # templates are no secrets
    [shown] = client.get("/smsgateway/", headers=admin_headers).json()["result"]["value"]
    assert shown["options"]["api_password"] == CENSORED and shown["options"]["to"] == "{phone}"
    assert shown["headers"] == {"Authorization": CENSORED, "X-Tenant": CENSORED}
    # The form sent back as read keeps every secret.
    again = {"name": "gw1", **{f"option.{k}": str(v) for k, v in shown["options"].items()}}
    again.update({f"header.{k}": v for k, v in shown["headers"].items()})
    r = client.post("/smsgateway", data=again, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert CENSORED not in stored_gateways(services)
    r = client.post(
        "/smsgateway/send_test_sms",
        data={"identifier": "gw1", "phone": "+4917111", "message": "123456"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    (request,) = sms_gateway.requests
    assert request.headers["authorization"] == "Basic dXNlcjpwdw=="
    assert request.headers["x-tenant"] == "acme"
    assert request.form["api_password"] == "pw-5150"


def test_a_censored_parameter_with_nothing_stored_is_refused(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    data = form("http://127.0.0.1:9/send", **{"option.api_password": CENSORED})
    r = client.post("/smsgateway", data=data, headers=admin_headers)
    assert r.status_code == 400
    assert "'option.api_password'" in r.json()["result"]["error"]["message"]
    assert stored_gateways(services) == ""
