from __future__ import annotations

from starlette.testclient import TestClient

from factorflow.api.app import create_app
from factorflow.api.asgi import attach_worker
from factorflow.bootstrap import Services
from tests.jobs.conftest import add_smtp, enqueue_email, load_job, wait_for
from tests.notify.servers import Recorder, SmtpServer


def test_the_api_process_delivers_jobs_while_it_runs(
    services: Services, smtp_server: SmtpServer, recorder: Recorder
) -> None:
    add_smtp(services, smtp_server.port)
    app = create_app(services)
    attach_worker(app, services)
    with TestClient(app):
        job_id = enqueue_email(services, idempotency_key="embedded-1@t")
        wait_for(lambda: load_job(services, job_id).state == "delivered")
    assert recorder.message_ids() == {"<embedded-1@t>": 1}
    # Stopped with the application: a job queued now waits for the next start.
    later = enqueue_email(services)
    assert load_job(services, later).state == "queued"
