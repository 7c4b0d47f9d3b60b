from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.notify.models import SmtpServer as SmtpRow
from tests.notify.servers import (
    Recorder,
    SmtpServer,
    credentials_check,
    free_port,
    server_tls_context,
)

H = dict[str, str]


def smtp_config(port: int, **extra: Any) -> dict[str, Any]:
    return {"server": "127.0.0.1", "port": str(port), "sender": "mfa@example.org", **extra}


def stored_count(services: Services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(SmtpRow)) or 0


def test_crud_with_censored_password(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    r = client.post(
        "/smtpserver/mail1",
        data=smtp_config(2525, password="s3cret", username="mfa", description="relay"),
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    listing = client.get("/smtpserver/", headers=admin_headers).json()["result"]["value"]
    assert listing["mail1"]["password"] == "__CENSORED__"
    assert listing["mail1"]["port"] == 2525
    assert listing["mail1"]["username"] == "mfa"
    with services.sessions() as session:
        row = session.scalar(select(SmtpRow))
        assert row is not None and "s3cret" not in row.password
    # Sending the censored value back keeps the stored password.
    r = client.post(
        "/smtpserver/mail1",
        data=smtp_config(2526, password="__CENSORED__", username="mfa"),
        headers=admin_headers,
    )
    assert r.status_code == 200
    with services.sessions() as session:
        assert services.notify.smtp_settings(session, "mail1").password == "s3cret"
        assert services.notify.smtp_settings(session, "mail1").port == 2526
    one = client.get("/smtpserver/mail1", headers=admin_headers).json()["result"]["value"]
    assert list(one) == ["mail1"]
    assert client.delete("/smtpserver/mail1", headers=admin_headers).status_code == 200
    assert client.get("/smtpserver/", headers=admin_headers).json()["result"]["value"] == {}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (smtp_config(0), "port"),
        (smtp_config(70000), "port"),
        ({**smtp_config(25), "port": "abc"}, "port"),
        ({**smtp_config(25), "sender": "not-an-address"}, "sender"),
        ({**smtp_config(25), "server": "bad host name"}, "server"),
        ({"port": "25", "sender": "mfa@example.org"}, "server"),
        ({**smtp_config(25), "timeout": "-1"}, "timeout"),
        ({**smtp_config(25), "tls": "1", "starttls": "1"}, "starttls"),
        ({**smtp_config(25), "tls": "maybe"}, "tls"),
    ],
)
def test_bad_config_is_refused_naming_the_field(
    client: TestClient, admin_headers: H, services: Services, data: dict[str, Any], field: str
) -> None:
    r = client.post("/smtpserver/mail1", data=data, headers=admin_headers)
    assert r.status_code == 400, r.text
    assert f"'{field}'" in r.json()["result"]["error"]["message"]
    assert stored_count(services) == 0


def test_bad_identifier_and_unknown_identifier(client: TestClient, admin_headers: H) -> None:
    r = client.post("/smtpserver/bad%20name", data=smtp_config(25), headers=admin_headers)
    assert r.status_code == 400
    assert "'identifier'" in r.json()["result"]["error"]["message"]
    assert client.get("/smtpserver/nope", headers=admin_headers).status_code == 404
    assert client.delete("/smtpserver/nope", headers=admin_headers).status_code == 404
    r = client.post(
        "/smtpserver/send_test_email",
        data={"identifier": "nope", "recipient": "a@example.org"},
        headers=admin_headers,
    )
    assert r.status_code == 404


def test_admin_only(client: TestClient, flatfile_realm: str) -> None:
    from tests.conftest import user_headers

    headers = user_headers(client, "alice")
    assert client.get("/smtpserver/", headers=headers).status_code == 401
    assert client.post("/smtpserver/x", data=smtp_config(25), headers=headers).status_code == 401
    assert client.get("/smtpserver/").status_code == 401


def test_send_test_email_stored_and_inline(
    client: TestClient, admin_headers: H, smtp_server: SmtpServer, recorder: Recorder
) -> None:
    client.post("/smtpserver/mail1", data=smtp_config(smtp_server.port), headers=admin_headers)
    r = client.post(
        "/smtpserver/send_test_email",
        data={"identifier": "mail1", "recipient": "alice@example.org"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["result"]["value"] is True
    r = client.post(
        "/smtpserver/send_test_email",
        data={**smtp_config(smtp_server.port), "recipient": "bob@example.org"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert [m.rcpt_tos for m in recorder.messages] == [["alice@example.org"], ["bob@example.org"]]
    first = recorder.messages[0].message
    assert first["Subject"] == "Factorflow test email"
    assert first["From"] == "mfa@example.org"
    assert str(first["Message-ID"]).startswith("<test-")


def test_send_test_email_failures_are_clear_4xx(
    client: TestClient, admin_headers: H, smtp_server: SmtpServer
) -> None:
    down = free_port()
    r = client.post(
        "/smtpserver/send_test_email",
        data={**smtp_config(down), "recipient": "a@example.org"},
        headers=admin_headers,
    )
    assert r.status_code == 400
    assert "unreachable" in r.json()["result"]["error"]["message"]
    r = client.post(
        "/smtpserver/send_test_email",
        data={**smtp_config(smtp_server.port), "recipient": "not an address"},
        headers=admin_headers,
    )
    assert r.status_code == 400
    assert "'recipient'" in r.json()["result"]["error"]["message"]
    # The server does not offer STARTTLS.
    r = client.post(
        "/smtpserver/send_test_email",
        data={**smtp_config(smtp_server.port, starttls="1"), "recipient": "a@example.org"},
        headers=admin_headers,
    )
    assert r.status_code == 400
    assert "STARTTLS" in r.json()["result"]["error"]["message"]


def test_wrong_credentials_are_a_clear_4xx(
    client: TestClient, admin_headers: H, recorder: Recorder
) -> None:
    server = SmtpServer(
        recorder,
        authenticator=credentials_check("mfa", "right-pw"),
        auth_require_tls=False,
    )
    server.start()
    try:
        good = smtp_config(server.port, username="mfa", password="right-pw")
        r = client.post(
            "/smtpserver/send_test_email",
            data={**good, "recipient": "a@example.org"},
            headers=admin_headers,
        )
        assert r.status_code == 200, r.text
        bad = smtp_config(server.port, username="mfa", password="wrong-pw")
        r = client.post(
            "/smtpserver/send_test_email",
            data={**bad, "recipient": "a@example.org"},
            headers=admin_headers,
        )
        assert r.status_code == 400
        assert "credentials" in r.json()["result"]["error"]["message"]
    finally:
        server.stop()
    assert len(recorder.messages) == 1


def test_starttls_and_implicit_tls(
    client: TestClient, admin_headers: H, recorder: Recorder, tls_files: tuple[Path, Path]
) -> None:
    context = server_tls_context(*tls_files)
    starttls = SmtpServer(recorder, tls_context=context, require_starttls=True)
    starttls.start()
    try:
        data = smtp_config(starttls.port, starttls="1", tls_verify="0")
        r = client.post(
            "/smtpserver/send_test_email",
            data={**data, "recipient": "a@example.org"},
            headers=admin_headers,
        )
        assert r.status_code == 200, r.text
        # Verifying the self-signed certificate fails, and says so.
        data = smtp_config(starttls.port, starttls="1")
        r = client.post(
            "/smtpserver/send_test_email",
            data={**data, "recipient": "b@example.org"},
            headers=admin_headers,
        )
        assert r.status_code == 400
        assert "not trusted" in r.json()["result"]["error"]["message"]
    finally:
        starttls.stop()
    implicit = SmtpServer(recorder, ssl_context=server_tls_context(*tls_files))
    implicit.start()
    try:
        data = smtp_config(implicit.port, tls="1", tls_verify="0")
        r = client.post(
            "/smtpserver/send_test_email",
            data={**data, "recipient": "c@example.org"},
            headers=admin_headers,
        )
        assert r.status_code == 200, r.text
    finally:
        implicit.stop()
    assert [m.rcpt_tos[0] for m in recorder.messages] == ["a@example.org", "c@example.org"]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("otp-1@factorflow.test", "<otp-1@factorflow.test>"),
        ("abc123", "<abc123@factorflow>"),
        ("challenge:tx1:PIEM1", "<challenge%3Atx1%3APIEM1@factorflow>"),
        ("a b@c d", "<a%20b@c%20d>"),
        ("100%", "<100%25@factorflow>"),
    ],
)
def test_message_id_is_the_key_kept_well_formed(key: str, expected: str) -> None:
    from email import message_from_string, policy

    from factorflow.notify.smtp import message_id

    assert message_id(key) == expected
    parsed = message_from_string(f"Message-ID: {expected}\n\n", policy=policy.default)
    assert str(parsed["Message-ID"]) == expected
