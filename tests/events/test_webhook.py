"""The WebHook handler: signed, retried deliveries to a local receiver."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.events.definition import redact
from factorflow.events.errors import DefinitionError
from factorflow.jobs.models import Job
from factorflow.settings import Settings
from factorflow.worker import Worker
from tests import conftest as root
from tests.events.conftest import DefinitionMaker, make_facts
from tests.events.test_handlers import run
from tests.jobs.conftest import FAST, load_job, wait_for

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # Room for retries: on a loaded machine one drain() may run several fast failures.
    return root.test_settings(tmp_path / "data", database_url, **{**FAST, "job_max_attempts": 10})


class Receiver:
    """A threaded HTTP server that verifies the Standard Webhooks signature."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.status = 200
        self.received: list[dict[str, Any]] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified: Any = None
                if "webhook-signature" in headers:
                    try:
                        Webhook(SECRET).verify(body, headers, json_parse=False)
                        verified = True
                    except Exception as exc:
                        verified = repr(exc)
                receiver.received.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": headers,
                        "body": body.decode(),
                        "verified": verified,
                    }
                )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_POST = _handle
            do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver(free_tcp_port: int) -> Iterator[Receiver]:
    r = Receiver(free_tcp_port)
    yield r
    r.stop()


def webhook_jobs(services: Services) -> list[int]:
    with services.sessions() as session:
        return list(session.scalars(select(Job.id).where(Job.kind == "webhook").order_by(Job.id)))


def drain_until(services: Services, check: Any) -> Any:
    worker = Worker(services)

    def step() -> Any:
        worker.drain()
        return check()

    return wait_for(step, timeout=20)


def test_options_are_validated(services: Services) -> None:
    from factorflow.events.definition import compile_options

    handler = services.events.handlers["WebHook"]
    ok = {"URL": "https://example.org/x", "content_type": "json", "data": "{}"}
    _, model = compile_options(handler, "post_webhook", ok)
    assert model.mime == "application/json"  # type: ignore[attr-defined]
    bad = [
        {"URL": "file:///etc/passwd"},
        {"URL": "https://x.org", "content_type": "text/plain"},
        {"URL": "https://x.org", "method": "GET"},
        {"URL": "https://x.org", "data": "{not json"},
        {"URL": "https://x.org", "replace": "True", "data": '{"a": "{nope}"}'},
        {"URL": "https://x.org", "headers": "[1]"},
        {"URL": "https://x.org", "headers": '{"X-A": "a\\r\\nInjected: 1"}'},
        {"URL": "https://x.org", "headers": '{"Content-Type": "x"}'},
        {"URL": "https://x.org", "secret": "plain"},
        {"URL": "https://x.org", "timeout": "0"},
    ]
    for options in bad:
        with pytest.raises(DefinitionError):
            compile_options(handler, "post_webhook", options)
    # privacyIDEA's legacy tag aliases are accepted.
    compile_options(handler, "post_webhook", {
        "URL": "https://x.org", "replace": "True",
        "data": '{"u": "{logged_in_user}", "s": "{token_serial}", "o": "{token_owner}"}',
    })  # fmt: skip


def test_secrets_are_redacted_in_the_audit_detail() -> None:
    shown = redact({
        "URL": "https://user:pw@hooks.example.org/x?a=1",
        "secret": SECRET,
        "headers": json.dumps({"Authorization": "Bearer abc", "X-Api-Key": "k", "X-Team": "ops"}),
        "data": "{}",
    })  # fmt: skip
    assert shown["secret"] == "***"
    assert json.loads(shown["headers"]) == {
        "Authorization": "***", "X-Api-Key": "***", "X-Team": "ops",
    }  # fmt: skip
    assert "pw" not in shown["URL"] and shown["URL"].startswith("https://***@hooks.example.org")
    assert redact({"headers": "not json"})["headers"] == "***"


def test_json_tags_are_substituted_inside_values(
    services: Services, session: Session, receiver: Receiver
) -> None:
    receiver.start()
    # Quotes, backslashes, braces, control and non-ASCII characters (a NUL never gets
    # this far: the API refuses it in parameters).
    tricky = 'he said "hi" \\ {serial} }] \t\n ünï'
    facts = make_facts(services, session, params={"serial": tricky})
    data = '{"serial": "{serial}", "nested": ["{token_serial}", 3], "{serial}": true}'
    ctx = run(services, facts, "WebHook", "post_webhook", URL=receiver.url, replace="True",
              data=data, content_type="application/json")  # fmt: skip
    assert ctx.run_details.startswith("queued as job ")
    session.commit()
    drain_until(services, lambda: receiver.received)
    got = receiver.received[0]
    assert got["headers"]["content-type"] == "application/json"
    assert json.loads(got["body"]) == {
        "serial": tricky, "nested": [tricky, 3], tricky: True,
    }  # fmt: skip
    assert got["verified"] is None  # unsigned without a secret


def test_form_bodies_encode_substituted_values(
    services: Services, session: Session, receiver: Receiver
) -> None:
    receiver.start()
    facts = make_facts(services, session, params={"serial": "A&b=c"})
    run(services, facts, "WebHook", "post_webhook", URL=receiver.url, replace="True",
        data="serial={serial}&x=1", content_type="urlencoded", method="PUT")  # fmt: skip
    session.commit()
    drain_until(services, lambda: receiver.received)
    got = receiver.received[0]
    assert got["method"] == "PUT"
    assert got["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(got["body"]) == {"serial": ["A&b=c"], "x": ["1"]}


def test_down_receiver_gets_the_signed_webhook_once_it_is_up(
    services: Services,
    client: TestClient,
    admin_headers: dict[str, str],
    define: DefinitionMaker,
    flatfile_realm: str,
    receiver: Receiver,
) -> None:
    define(name="hook", event="token_init", handlermodule="WebHook", action="post_webhook",
           position="post", options={
               "URL": receiver.url, "content_type": "application/json", "replace": "True",
               "data": '{"event": "enrolled", "serial": "{serial}", "user": "{username}"}',
               "secret": SECRET,
               "headers": json.dumps({"Authorization": "Bearer s3cr3t", "X-Team": "ops"}),
           })  # fmt: skip
    r = client.post(
        "/token/init",
        data={"type": "spass", "serial": "WH1", "user": "alice", "realm": "realm1", "pin": "1234"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    [job_id] = webhook_jobs(services)
    # The receiver is down: the attempt fails and is retried later.
    assert Worker(services).run_once()
    job = load_job(services, job_id)
    assert job.state != "delivered" and job.attempts >= 1
    assert "ConnectError" in job.last_error
    receiver.start()
    drain_until(services, lambda: load_job(services, job_id).state == "delivered")
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got["verified"] is True
    assert got["headers"]["webhook-id"] == load_job(services, job_id).idempotency_key
    assert got["headers"]["authorization"] == "Bearer s3cr3t"
    assert got["headers"]["x-team"] == "ops"
    assert json.loads(got["body"]) == {"event": "enrolled", "serial": "WH1", "user": "alice"}
    # Neither the secret nor the Authorization header is in the job payload or the audit.
    payload = json.dumps(load_job(services, job_id).payload)
    assert "s3cr3t" not in payload and SECRET not in payload
    with services.sessions() as session:
        details = session.scalars(
            select(AuditEntry.action_detail).where(AuditEntry.action.like("%WebHook%"))
        ).all()
    assert details and all("s3cr3t" not in d and SECRET not in d for d in details)


def test_non_2xx_answers_are_retried(
    services: Services, session: Session, receiver: Receiver
) -> None:
    receiver.status = 503
    receiver.start()
    facts = make_facts(services, session)
    run(services, facts, "WebHook", "post_webhook", URL=receiver.url, data="{}", secret=SECRET)
    session.commit()
    [job_id] = webhook_jobs(services)
    drain_until(services, lambda: len(receiver.received) >= 2)
    assert "HTTP 503" in load_job(services, job_id).last_error
    receiver.status = 204
    drain_until(services, lambda: load_job(services, job_id).state == "delivered")
    # Every attempt carries the same webhook-id and a valid signature.
    ids = {r["headers"]["webhook-id"] for r in receiver.received}
    assert len(ids) == 1
    assert all(r["verified"] is True for r in receiver.received)
