"""UserNotification end to end: definitions through POST /event, requests through HTTP,
jobs delivered by a worker to a real aiosmtpd server and a local SMS gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from starlette.testclient import TestClient

from factorflow.admins.models import Admin
from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.events.handlers.counter import counter_total
from factorflow.jobs.models import Job
from factorflow.worker import Worker
from tests import factories
from tests.notify.servers import Recorder, SmsGatewayServer, SmtpServer

H = dict[str, str]


define = factories.save_definition


def defined(client: TestClient, headers: H, **fields: Any) -> int:
    return factories.define(client, headers, **fields)


def add_smtp(client: TestClient, headers: H, server: SmtpServer) -> None:
    factories.add_smtp_server(client, headers, "mail1", server.port)


def add_gateway(client: TestClient, headers: H, gateway: SmsGatewayServer) -> None:
    factories.add_sms_gateway(client, headers, "gw1", gateway.url)


def event_entries(services: Services) -> list[AuditEntry]:
    with services.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.like("%UserNotification%"))
                .order_by(AuditEntry.id)
            )
        )


def init_token(client: TestClient, headers: H, **params: str) -> dict[str, Any]:
    r = client.post("/token/init", data=params, headers=headers)
    assert r.status_code == 200, r.text
    detail: dict[str, Any] = r.json()["detail"]
    return detail


def drain(services: Services) -> int:
    return Worker(services).drain()


def test_mail_on_failed_second_factor_with_correct_pin(
    client: TestClient,
    admin_headers: H,
    services: Services,
    flatfile_realm: str,
    smtp_server: SmtpServer,
    recorder: Recorder,
) -> None:
    add_smtp(client, admin_headers, smtp_server)
    defined(client, admin_headers, name="failed 2nd factor", event="validate_check",
            handlermodule="UserNotification", action="sendmail",
            options={"emailconfig": "mail1", "To": "tokenowner",
                     "subject": "Failed login of {username}",
                     "body": "Someone failed with token {serial} from {client_ip}."},
            conditions={"tokentype": "hotp,totp", "result_value": "False"})  # fmt: skip
    serial = init_token(client, admin_headers, type="hotp", genkey="1", user="alice",
                        realm="realm1", pin="1234")["serial"]  # fmt: skip
    r = client.post("/validate/check", data={"user": "alice", "pass": "1234000000"})
    assert r.json()["result"]["value"] is False
    entries = event_entries(services)
    assert len(entries) == 1 and entries[0].success is True
    assert "queued email job" in entries[0].info
    with services.sessions() as session:
        job = session.scalars(select(Job)).one()
        assert job.state == "queued" and job.definition == "failed 2nd factor"
    assert drain(services) == 1
    assert len(recorder.messages) == 1
    message = recorder.messages[0]
    assert message.rcpt_tos == ["alice@example.com"]
    assert message.message["Subject"] == "Failed login of alice"
    text = message.message.get_content()
    assert f"token {serial}" in text
    with services.sessions() as session:
        assert session.scalars(select(Job)).one().state == "delivered"


def test_enrolment_qr_code_by_email_html(
    client: TestClient,
    admin_headers: H,
    services: Services,
    flatfile_realm: str,
    smtp_server: SmtpServer,
    recorder: Recorder,
) -> None:
    add_smtp(client, admin_headers, smtp_server)
    defined(client, admin_headers, name="qr", event="token_init",
            handlermodule="UserNotification", action="sendmail",
            options={"emailconfig": "mail1", "mimetype": "html", "attach_qrcode": "1",
                     "subject": "Your token {serial}",
                     "body": "<p>{tokendescription}</p><img src=\"{googleurl_img}\">"})  # fmt: skip
    detail = init_token(client, admin_headers, type="hotp", genkey="1", user="alice",
                        realm="realm1", description="<b>mine</b>")  # fmt: skip
    assert detail["googleurl"]["img"].startswith("data:image/png;base64,")
    assert drain(services) == 1
    message = recorder.messages[0].message
    assert message.get_content_type() == "multipart/related"
    html_part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    body = html_part.get_content()
    assert "&lt;b&gt;mine&lt;/b&gt;" in body  # tag values are escaped in HTML
    assert 'src="cid:token_image"' in body
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<token_image>"
    assert image.get_filename() == f"{detail['serial']}.png"
    assert image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plain_text_does_not_escape(
    client: TestClient,
    admin_headers: H,
    services: Services,
    flatfile_realm: str,
    smtp_server: SmtpServer,
    recorder: Recorder,
) -> None:
    add_smtp(client, admin_headers, smtp_server)
    defined(client, admin_headers, name="plain", event="token_init",
            handlermodule="UserNotification", action="sendmail",
            options={"emailconfig": "mail1", "body": "desc {tokendescription}",
                     "To": "email", "To email": "x@example.org, y@example.org",
                     "reply_to": "email", "reply_to email": "help@example.org"})  # fmt: skip
    init_token(client, admin_headers, type="hotp", genkey="1", description="<b>")
    assert drain(services) == 2
    assert sorted(m.rcpt_tos[0] for m in recorder.messages) == ["x@example.org", "y@example.org"]
    for received in recorder.messages:
        assert received.message.get_content().strip() == "desc <b>"
        assert received.message["Reply-To"] == "help@example.org"


def test_paper_token_nearly_used_up_mails_the_owner(
    client: TestClient,
    admin_headers: H,
    services: Services,
    flatfile_realm: str,
    smtp_server: SmtpServer,
    recorder: Recorder,
) -> None:
    add_smtp(client, admin_headers, smtp_server)
    defined(client, admin_headers, name="paper ends", event="validate_check",
            handlermodule="UserNotification", action="sendmail",
            options={"emailconfig": "mail1", "subject": "Your TAN list {serial} ends soon"},
            conditions={"tokentype": "paper", "otp_counter": ">=8",
                        "result_value": "True"})  # fmt: skip
    detail = init_token(client, admin_headers, type="paper", genkey="1", user="bob",
                        realm="realm1", papertoken_count="10")  # fmt: skip
    otps = detail["otps"]
    for counter in range(9):
        r = client.post("/validate/check", data={"user": "bob", "pass": otps[str(counter)]})
        assert r.json()["result"]["value"] is True, r.text
    # counters 7 and 8 leave otp_counter at 8 and 9: two mails, each once
    assert drain(services) == 2
    assert [m.rcpt_tos for m in recorder.messages] == [["bob@example.com"]] * 2
    assert recorder.messages[0].message["Subject"] == f"Your TAN list {detail['serial']} ends soon"


def test_sendsms_to_the_owners_mobile(
    client: TestClient,
    admin_headers: H,
    services: Services,
    flatfile_realm: str,
    sms_gateway: SmsGatewayServer,
) -> None:
    add_gateway(client, admin_headers, sms_gateway)
    defined(client, admin_headers, name="sms", event="token_init",
            handlermodule="UserNotification", action="sendsms",
            options={"smsconfig": "gw1", "body": "New token {serial}"})  # fmt: skip
    serial = init_token(client, admin_headers, type="hotp", genkey="1", user="bob",
                        realm="realm1")["serial"]  # fmt: skip
    assert drain(services) == 1
    assert len(sms_gateway.requests) == 1
    assert sms_gateway.requests[0].form["to"] == "+4917222"
    assert sms_gateway.requests[0].form["text"] == f"New token {serial}"


def test_no_recipient_is_an_audited_failure(
    client: TestClient, admin_headers: H, services: Services, smtp_server: SmtpServer
) -> None:
    add_smtp(client, admin_headers, smtp_server)
    defined(client, admin_headers, name="nobody", event="token_init",
            handlermodule="UserNotification", action="sendmail",
            options={"emailconfig": "mail1", "To": "tokenowner"})  # fmt: skip
    init_token(client, admin_headers, type="hotp", genkey="1")  # no owner
    entries = event_entries(services)
    assert [(e.info, e.success) for e in entries] == [("nobody (NoRecipientError)", False)]
    with services.sessions() as session:
        assert session.scalars(select(Job)).all() == []


def test_bad_input_on_save(
    client: TestClient, admin_headers: H, services: Services, smtp_server: SmtpServer
) -> None:
    base = {"name": "n", "event": "token_init", "handlermodule": "UserNotification",
            "action": "sendmail"}  # fmt: skip
    r = define(client, admin_headers, **base, options={"emailconfig": "nosuch"})
    assert r.status_code == 400 and "emailconfig" in r.text
    add_smtp(client, admin_headers, smtp_server)
    for body in ("file:../outside.txt", "file:/etc/passwd", "file:missing.txt"):
        r = define(client, admin_headers, **base, options={"emailconfig": "mail1", "body": body})
        assert r.status_code == 400 and "body" in r.text, body
    r = define(client, admin_headers, **base,
               options={"emailconfig": "mail1", "To": "email", "To email": "not-an-address"})  # fmt: skip
    assert r.status_code == 400 and "To email" in r.text
    r = define(client, admin_headers, **{**base, "action": "sendsms"},
               options={"smsconfig": "nosuch"})  # fmt: skip
    assert r.status_code == 400 and "smsconfig" in r.text
    r = define(client, admin_headers, **base,
               options={"emailconfig": "mail1", "subject": "{user.__class__}{nosuch}"})  # fmt: skip
    assert r.status_code == 400 and "subject" in r.text and "{nosuch}" in r.text
    r = define(client, admin_headers, **{**base, "action": "savefile"},
               options={"body": "x", "filename": "../x-{random}"})  # fmt: skip
    assert r.status_code == 400 and "filename" in r.text


def test_template_from_the_template_directory_and_links_refused(
    client: TestClient,
    admin_headers: H,
    services: Services,
    smtp_server: SmtpServer,
    recorder: Recorder,
    tmp_path: Path,
) -> None:
    add_smtp(client, admin_headers, smtp_server)
    templates = services.settings.effective_template_directory
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "hello.txt").write_text("Hello from template, token {serial}\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (templates / "link.txt").symlink_to(secret)
    base = {"event": "token_init", "handlermodule": "UserNotification", "action": "sendmail"}
    r = define(client, admin_headers, **base, name="link",
               options={"emailconfig": "mail1", "body": "file:link.txt"})  # fmt: skip
    assert r.status_code == 400 and "symbolic link" in r.text
    defined(client, admin_headers, **base, name="tpl",
            options={"emailconfig": "mail1", "body": "file:hello.txt",
                     "To": "email", "To email": "x@example.org"})  # fmt: skip
    serial = init_token(client, admin_headers, type="hotp", genkey="1")["serial"]
    assert drain(services) == 1
    assert recorder.messages[0].message.get_content().strip() == (
        f"Hello from template, token {serial}"
    )


def test_savefile_in_the_spool_directory(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    defined(client, admin_headers, name="save", event="token_init",
            handlermodule="UserNotification", action="savefile",
            options={"body": "token {serial}", "filename": "out/{serial}-{random}.txt"})  # fmt: skip
    serial = init_token(client, admin_headers, type="hotp", genkey="1")["serial"]
    spool = services.settings.effective_spool_directory
    files = list((spool / "out").iterdir())
    assert len(files) == 1 and files[0].name.startswith(f"{serial}-")
    assert len(files[0].name) == len(serial) + 1 + 16 + 4
    assert files[0].read_text() == f"token {serial}"
    assert event_entries(services)[0].success is True


def test_flood_control_per_recipient(
    client: TestClient,
    admin_headers: H,
    services: Services,
    flatfile_realm: str,
    smtp_server: SmtpServer,
    recorder: Recorder,
) -> None:
    add_smtp(client, admin_headers, smtp_server)
    defined(client, admin_headers, name="flood", event="validate_check",
            handlermodule="UserNotification", action="sendmail",
            options={"emailconfig": "mail1", "flood_limit": "2", "flood_window": "3600"},
            conditions={"result_value": "False"})  # fmt: skip
    init_token(client, admin_headers, type="hotp", genkey="1", user="alice", realm="realm1",
               pin="1")  # fmt: skip
    for _ in range(5):
        client.post("/validate/check", data={"user": "alice", "pass": "1000000"})
    assert drain(services) == 2
    assert len(recorder.messages) == 2
    entries = event_entries(services)
    assert all(e.success for e in entries) and len(entries) == 5
    assert "flood control: 1 not sent" in entries[-1].info
    assert "alice@example.com" in entries[-1].info
    with services.sessions() as session:
        assert counter_total(session, "flood:flood") == 3


def test_flood_control_counts_per_definition_not_per_name(
    client: TestClient,
    admin_headers: H,
    services: Services,
    flatfile_realm: str,
    smtp_server: SmtpServer,
    recorder: Recorder,
) -> None:
    """Names are not unique (privacyIDEA's rule): two definitions called alike each
    get their own allowance."""
    add_smtp(client, admin_headers, smtp_server)
    for subject in ("first", "second"):
        defined(client, admin_headers, name="twin", event="validate_check",
                handlermodule="UserNotification", action="sendmail",
                options={"emailconfig": "mail1", "flood_limit": "1", "flood_window": "3600",
                         "subject": subject},
                conditions={"result_value": "False"})  # fmt: skip
    init_token(client, admin_headers, type="hotp", genkey="1", user="alice", realm="realm1",
               pin="1")  # fmt: skip
    for _ in range(3):
        client.post("/validate/check", data={"user": "alice", "pass": "1000000"})
    assert drain(services) == 2
    assert sorted(m.message["Subject"] for m in recorder.messages) == ["first", "second"]


def test_internal_admin_admin_realm_and_logged_in_user(
    client: TestClient,
    admin_headers: H,
    services: Services,
    flatfile_realm: str,
    smtp_server: SmtpServer,
    recorder: Recorder,
) -> None:
    add_smtp(client, admin_headers, smtp_server)
    with services.sessions.begin() as session:
        session.execute(
            update(Admin).where(Admin.username == "admin").values(email="root@example.org")
        )
    base = {"event": "token_init", "handlermodule": "UserNotification", "action": "sendmail"}
    defined(client, admin_headers, **base, name="admins", ordering=1,
            options={"emailconfig": "mail1", "To": "internal admin",
                     "To internal admin": "admin, ghost"})  # fmt: skip
    defined(client, admin_headers, **base, name="realm", ordering=2,
            options={"emailconfig": "mail1", "To": "admin realm",
                     "To admin realm": flatfile_realm})  # fmt: skip
    defined(client, admin_headers, **base, name="me", ordering=3,
            options={"emailconfig": "mail1", "To": "logged_in_user"})  # fmt: skip
    init_token(client, admin_headers, type="hotp", genkey="1")
    assert [(e.info.split(" (")[0], e.success) for e in event_entries(services)] == [
        ("admins", True), ("realm", True), ("me", True),
    ]  # fmt: skip
    assert drain(services) == 5
    assert sorted(m.rcpt_tos[0] for m in recorder.messages) == [
        "alice@example.com", "bob@example.com", "carol@example.com",
        "root@example.org", "root@example.org",
    ]  # fmt: skip


def test_actions_are_described_with_privacyidea_option_names(
    client: TestClient, admin_headers: H
) -> None:
    r = client.get("/event/actions/UserNotification", headers=admin_headers)
    assert r.status_code == 200, r.text
    actions = r.json()["result"]["value"]
    assert set(actions) == {"sendmail", "sendsms", "savefile"}
    assert actions["sendmail"]["To"]["value"] == [
        "tokenowner", "logged_in_user", "internal admin", "admin realm", "email",
    ]  # fmt: skip
    assert {"To email", "reply_to", "attach_qrcode", "flood_limit"} <= set(actions["sendmail"])
    assert actions["sendmail"]["emailconfig"]["required"] is True
    # No SMTP server or SMS gateway configured yet: free text, checked on save.
    assert "value" not in actions["sendmail"]["emailconfig"]
    assert "value" not in actions["sendsms"]["smsconfig"]


def test_configuration_options_offer_the_configured_servers(
    client: TestClient, admin_headers: H, smtp_server: SmtpServer, sms_gateway: SmsGatewayServer
) -> None:
    add_smtp(client, admin_headers, smtp_server)
    add_gateway(client, admin_headers, sms_gateway)
    r = client.get("/event/actions/UserNotification", headers=admin_headers)
    actions = r.json()["result"]["value"]
    assert actions["sendmail"]["emailconfig"]["value"] == ["mail1"]
    assert actions["sendsms"]["smsconfig"]["value"] == ["gw1"]
