"""Jobs keep no readable secret (issue 12, item 7): what a message says is sealed in
the job until delivery, admins see metadata only, delivered payloads are purged after
the retention, and dead jobs stay retryable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.db.base import transaction, utcnow
from factorflow.jobs.models import Job
from factorflow.settings import Settings
from factorflow.worker import Worker
from tests import conftest as root
from tests.jobs.conftest import FAST, add_smtp, enqueue_email, load_job
from tests.notify.servers import Recorder, SmtpServer, free_port
from tests.notify.test_user_notification import defined, init_token

H = dict[str, str]
Api = Callable[..., Any]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return root.test_settings(
        tmp_path / "data", database_url, **FAST, job_payload_retention_seconds=60
    )


def stored_jobs(services: Services) -> str:
    with services.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM job")).all()
    return " ".join(str(value) for row in rows for value in row)


def sealed_email(services: Services, body: str, **extra: Any) -> int:
    with transaction(services.sessions) as session:
        return services.jobs.enqueue(
            session,
            kind="email",
            payload={"smtp": "mail1", "to": ["alice@example.org"]},
            secret={"subject": "Your PIN", "body": body},
            **extra,
        )


def test_a_random_pin_and_an_enrolment_uri_arrive_but_are_never_stored_readable(
    client: TestClient,
    admin_headers: H,
    api: Api,
    services: Services,
    flatfile_realm: str,
    smtp_server: SmtpServer,
    recorder: Recorder,
) -> None:
    add_smtp(services, smtp_server.port)
    defined(client, admin_headers, name="random pin", event="token_init", ordering=1,
            handlermodule="Token", action="set random pin", options={"length": "12"})  # fmt: skip
    defined(client, admin_headers, name="tell the owner", event="token_init", ordering=2,
            handlermodule="UserNotification", action="sendmail",
            options={"emailconfig": "mail1", "subject": "Token {serial}",
                     "body": "PIN {pin}\nScan {googleurl_value}"})  # fmt: skip
    detail = init_token(
        client, admin_headers, type="hotp", genkey="1", user="alice", realm="realm1"
    )
    pin, uri = detail["pin"], detail["googleurl"]["value"]
    assert len(pin) == 12 and uri.startswith("otpauth://")
    stored = stored_jobs(services)
    assert pin not in stored and "otpauth" not in stored and "secret=" not in stored
    [job] = api("GET", "/jobs/").json()["result"]["value"]["jobs"]
    assert job["recipient"] == "al***@example.com"
    shown = api("GET", f"/jobs/{job['id']}")
    assert shown.status_code == 200 and "payload" not in shown.json()["result"]["value"]
    assert pin not in shown.text and "otpauth" not in shown.text and "PIN" not in shown.text

    assert Worker(services).drain() == 1
    [message] = recorder.messages
    body = message.message.get_content()
    assert f"PIN {pin}" in body and uri in body


def test_a_delivered_payload_is_purged_after_the_retention(
    api: Api, services: Services, smtp_server: SmtpServer, recorder: Recorder
) -> None:
    add_smtp(services, smtp_server.port)
    job_id = enqueue_email(services)
    worker = Worker(services)
    assert worker.run_once() is True
    assert load_job(services, job_id).payload != {}  # within the retention
    with transaction(services.sessions) as session:
        session.execute(update(Job).values(delivered_at=utcnow() - timedelta(seconds=61)))
    assert Worker(services).run_once() is False  # idle: purges
    job = load_job(services, job_id)
    assert job.payload == {} and job.purged_at is not None and job.state == "delivered"
    shown = api("GET", f"/jobs/{job_id}").json()["result"]["value"]
    assert shown["payload_purged_at"] and shown["recipient"] == "al***@example.org"
    assert len(recorder.messages) == 1


def test_retention_zero_purges_on_delivery(
    services: Services, smtp_server: SmtpServer, recorder: Recorder, settings: Settings
) -> None:
    services.settings = settings.model_copy(update={"job_payload_retention_seconds": 0})
    add_smtp(services, smtp_server.port)
    job_id = enqueue_email(services)
    assert Worker(services).run_once() is True
    assert load_job(services, job_id).payload == {}
    assert "Body text" in recorder.messages[0].message.get_content()


def test_a_dead_job_keeps_its_sealed_message_and_is_retried(
    api: Api, services: Services, smtp_server: SmtpServer, recorder: Recorder
) -> None:
    add_smtp(services, free_port())  # nobody listens: the one attempt fails
    job_id = sealed_email(services, "PIN 4711", max_attempts=1)
    worker = Worker(services)
    worker.run_once()
    assert load_job(services, job_id).state == "dead"
    assert "4711" not in stored_jobs(services)
    add_smtp(services, smtp_server.port)
    assert api("POST", f"/jobs/{job_id}/retry").status_code == 200
    assert worker.run_once() is True
    assert load_job(services, job_id).state == "delivered"
    assert "PIN 4711" in recorder.messages[0].message.get_content()


def test_a_sealed_part_this_server_cannot_open_is_a_permanent_failure(
    services: Services, smtp_server: SmtpServer
) -> None:
    add_smtp(services, smtp_server.port)
    job_id = sealed_email(services, "PIN 4711")
    with transaction(services.sessions) as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.payload = {**job.payload, "sealed": "v1:" + "A" * 60}
    Worker(services).run_once()
    job = load_job(services, job_id)
    assert job.state == "dead" and "cannot be decrypted" in job.last_error
