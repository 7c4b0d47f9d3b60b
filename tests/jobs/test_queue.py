from __future__ import annotations

import base64
from collections import Counter

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from factorflow.api.routing import Call, Endpoint
from factorflow.bootstrap import Services
from factorflow.core.invocation import Invocation, Outcome
from factorflow.db.base import transaction
from factorflow.errors import ParameterError
from factorflow.jobs.base import Deliverer, DeliveryError, DeliveryPorts, JobView
from factorflow.jobs.errors import UnknownJobKindError
from factorflow.jobs.models import Job, JobState
from factorflow.jobs.queue import JobQueue, backoff_seconds
from factorflow.pipeline import Access, Pipeline
from factorflow.worker import Worker
from tests.jobs.conftest import add_smtp, enqueue_email, load_job, wait_for
from tests.notify.servers import Recorder, SmsGatewayServer, SmtpServer, free_port


def job_count(services: Services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(Job)) or 0


def test_a_rolled_back_transaction_leaves_no_job(services: Services) -> None:
    with pytest.raises(RuntimeError), transaction(services.sessions) as session:
        services.jobs.enqueue(session, kind="email", payload={"smtp": "x"})
        raise RuntimeError("the request failed")
    assert job_count(services) == 0


def test_a_failed_request_leaves_no_job_and_a_good_one_does(services: Services) -> None:
    class NoParams(BaseModel):
        pass

    def handler(call: Call[NoParams]) -> Outcome:
        job_id = call.services.jobs.enqueue(
            call.session,
            kind="sms",
            payload={"gateway": "g", "phone": "+491", "message": "m"},
            request_id=call.inv.request_id,
            definition="notify-owner",
        )
        if call.inv.params.get("fail"):
            raise ParameterError("refused after enqueueing")
        return Outcome(value=job_id)

    endpoint: Endpoint[NoParams] = Endpoint(
        event="test_event", params=NoParams, handler=handler, access=Access.PUBLIC
    )
    pipeline = Pipeline(services.pipeline_ports, services)
    failed = pipeline.run(Invocation("test_event", "POST", "/t", {"fail": "1"}), endpoint)
    assert failed.error is not None and job_count(services) == 0
    inv = Invocation("test_event", "POST", "/t", {})
    reply = pipeline.run(inv, endpoint)
    assert reply.outcome is not None
    job = load_job(services, reply.outcome.value)
    assert (job.state, job.request_id, job.definition) == ("queued", inv.request_id, "notify-owner")


def test_enqueue_contract(services: Services) -> None:
    first = enqueue_email(services, idempotency_key="welcome-1@example")
    again = enqueue_email(services, idempotency_key="welcome-1@example")
    assert first == again and job_count(services) == 1
    job = load_job(services, first)
    assert job.max_attempts == services.settings.job_max_attempts
    assert enqueue_email(services, max_attempts=7) != first
    with pytest.raises(UnknownJobKindError), transaction(services.sessions) as session:
        services.jobs.enqueue(session, kind="fax", payload={})
    with pytest.raises(ParameterError), transaction(services.sessions) as session:
        services.jobs.enqueue(session, kind="email", payload={"x": object()})
    with pytest.raises(ParameterError), transaction(services.sessions) as session:
        services.jobs.enqueue(session, kind="email", payload={}, max_attempts=0)


def test_email_job_is_delivered_with_its_key_as_message_id(
    services: Services, smtp_server: SmtpServer, recorder: Recorder
) -> None:
    add_smtp(services, smtp_server.port)
    png = base64.b64encode(b"\x89PNG fake image").decode()
    with transaction(services.sessions) as session:
        job_id = services.jobs.enqueue(
            session,
            kind="email",
            idempotency_key="otp-42@factorflow.test",
            payload={
                "smtp": "mail1",
                "to": ["alice@example.org", "bob@example.org"],
                "subject": "Your token\r\nBcc: evil@example.org",
                "body": '<p>Scan <img src="cid:token_image"></p>',
                "mimetype": "html",
                "reply_to": "helpdesk@example.org",
                "images": [{"cid": "token_image", "filename": "S1.png", "data": png}],
            },
        )
    worker = Worker(services)
    assert worker.run_once() is True
    assert worker.run_once() is False
    (received,) = recorder.messages
    assert received.rcpt_tos == ["alice@example.org", "bob@example.org"]
    message = received.message
    assert message["Message-ID"] == "<otp-42@factorflow.test>"
    assert message["Subject"] == "Your token Bcc: evil@example.org"
    assert message["Bcc"] is None
    assert message["Reply-To"] == "helpdesk@example.org"
    assert message.get_content_type() == "multipart/related"
    image = next(p for p in message.iter_parts() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<token_image>"
    assert image.get_content() == b"\x89PNG fake image"
    job = load_job(services, job_id)
    assert job.state == JobState.DELIVERED and job.delivered_at is not None
    assert [(a.number, a.outcome) for a in job.attempt_log] == [(1, "delivered")]


def test_sms_job_carries_the_idempotency_key(
    services: Services, sms_gateway: SmsGatewayServer
) -> None:
    with transaction(services.sessions) as session:
        services.notify.save_sms(
            session,
            "gw1",
            {"option.URL": sms_gateway.url, "option.to": "{phone}", "option.text": "{otp}"},
        )
        services.jobs.enqueue(
            session,
            kind="sms",
            idempotency_key="sms-1@t",
            payload={"gateway": "gw1", "phone": "+4917111", "message": "123456"},
        )
    assert Worker(services).drain() == 1
    (request,) = sms_gateway.requests
    assert request.form == {"to": "+4917111", "text": "123456"}
    assert request.headers["idempotency-key"] == "sms-1@t"


def test_retries_with_backoff_then_dead_letter(services: Services) -> None:
    add_smtp(services, free_port())  # nobody listens there
    job_id = enqueue_email(services)
    worker = Worker(services)
    seen = []
    for _ in range(3):
        wait_for(worker.run_once)
        job = load_job(services, job_id)
        seen.append((job.state, job.attempts, job.next_attempt_at))
    assert [s[:2] for s in seen] == [("queued", 1), ("queued", 2), ("dead", 3)]
    assert seen[1][2] > seen[0][2]
    job = load_job(services, job_id)
    assert "unreachable" in job.last_error
    assert [a.outcome for a in job.attempt_log] == ["failed"] * 3
    assert all("unreachable" in a.error for a in job.attempt_log)
    assert worker.run_once() is False  # dead jobs are not tried again


def test_permanent_failure_goes_dead_at_once(services: Services) -> None:
    job_id = enqueue_email(services, smtp="no-such-server")
    Worker(services).run_once()
    job = load_job(services, job_id)
    assert (job.state, job.attempts) == ("dead", 1)
    assert "no-such-server" in job.last_error


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    for attempts in range(1, 12):
        full = min(60.0, 2.0 * 2 ** (attempts - 1))
        delays = {backoff_seconds(attempts, 2.0, 60.0) for _ in range(20)}
        assert all(full / 2 <= d <= full for d in delays)
        assert len(delays) > 1


def test_a_lost_lease_passes_the_job_on_and_fences_the_old_worker(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = enqueue_email(services)
    monkeypatch.setattr(services.settings, "job_lease_seconds", 0.2)
    queue = JobQueue(services.sessions, services.settings)
    first = queue.claim("worker-a")
    assert first is not None and queue.claim("worker-b") is None
    second = wait_for(lambda: queue.claim("worker-b"), timeout=5)
    assert second.job.id == job_id and second.attempt_number == 2
    assert queue.delivered(first) is False  # worker-a lost its lease
    assert queue.failed(first, "late failure") is None
    assert load_job(services, job_id).state == "running"
    assert queue.delivered(second) is True
    job = load_job(services, job_id)
    assert job.state == "delivered"
    # The first attempt reports late but truthfully.
    assert [(a.worker, a.outcome) for a in job.attempt_log] == [
        ("worker-a", "failed"),
        ("worker-b", "delivered"),
    ]


def test_a_lease_running_out_on_the_last_attempt_is_dead(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = enqueue_email(services, max_attempts=1)
    monkeypatch.setattr(services.settings, "job_lease_seconds", 0.1)
    queue = JobQueue(services.sessions, services.settings)
    assert queue.claim("worker-a") is not None
    wait_for(lambda: load_job(services, job_id).lease_until is not None)
    wait_for(lambda: queue.claim("worker-b") is None and load_job(services, job_id).state == "dead")
    job = load_job(services, job_id)
    assert "lease ran out" in job.last_error
    assert [a.outcome for a in job.attempt_log] == ["lease_expired"]


def test_smtp_down_for_a_while_then_back_loses_nothing(
    services: Services, recorder: Recorder
) -> None:
    server = SmtpServer(recorder)
    add_smtp(services, server.port)
    keys = [f"down-{n}@factorflow.test" for n in range(12)]
    for key in keys:
        enqueue_email(services, idempotency_key=key, max_attempts=100)
    worker = Worker(services, threads=3)
    worker.start()
    try:
        wait_for(lambda: all(load_job(services, i).attempts >= 2 for i in range(1, 13)))
        server.start()
        wait_for(lambda: len(recorder.messages) == len(keys))
        wait_for(lambda: all(load_job(services, i).state == "delivered" for i in range(1, 13)))
    finally:
        worker.stop()
        server.stop()
    assert recorder.message_ids() == Counter({f"<{key}>": 1 for key in keys})


class SlowRecorder(Deliverer):
    """Counts concurrent deliveries of each job; any overlap is a double claim."""

    kind = "email"

    def __init__(self, ports: DeliveryPorts) -> None:
        super().__init__(ports)
        import threading

        self.lock = threading.Lock()
        self.active: Counter[int] = Counter()
        self.done: Counter[int] = Counter()
        self.overlaps = 0

    def deliver(self, job: JobView) -> str:
        import time

        with self.lock:
            self.active[job.id] += 1
            self.overlaps += self.active[job.id] > 1
        time.sleep(0.01)
        with self.lock:
            self.active[job.id] -= 1
            self.done[job.id] += 1
        if job.id % 5 == 0 and job.attempt == 1:
            raise DeliveryError("first attempt of every fifth job fails")
        return ""


def test_threads_in_one_process_never_share_a_job(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a double claim may overlap deliveries here: with the suite's 2 s lease a
    # delivery stalled on a loaded machine is (rightly) taken over, which is the
    # lease tests' subject, not this one's.
    monkeypatch.setattr(services.settings, "job_lease_seconds", 120.0)
    ids = [enqueue_email(services) for _ in range(40)]
    deliverer = SlowRecorder(services.delivery_ports)
    worker = Worker(services, threads=6, deliverers={"email": deliverer})
    worker.start()
    try:
        wait_for(lambda: all(load_job(services, i).state == "delivered" for i in ids), timeout=60)
    finally:
        worker.stop()
    assert deliverer.overlaps == 0
    assert all(deliverer.done[i] == (2 if i % 5 == 0 else 1) for i in ids)


def test_each_attempt_is_audited_under_the_request_id(
    services: Services, recorder: Recorder
) -> None:
    from factorflow.audit.models import AuditEntry

    server = SmtpServer(recorder)
    add_smtp(services, server.port)
    job_id = enqueue_email(services, request_id="req-42", definition="mail-owner")
    worker = Worker(services)
    worker.run_once()  # the server is not up yet
    server.start()
    try:
        wait_for(worker.run_once)
    finally:
        server.stop()
    with services.sessions() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.request_id == "req-42").order_by(AuditEntry.id)
        ).all()
        rows = [(e.action, e.success, e.info.split(":")[0], e.action_detail) for e in entries]
        assert all(services.audit.entry_ok(e) for e in entries)
    detail = f"job={job_id} attempt=%d definition=mail-owner"
    assert rows == [
        ("JOB email", False, "failed, will retry", detail % 1),
        ("JOB email", True, "delivered", detail % 2),
    ]
