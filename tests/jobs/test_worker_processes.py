"""Workers as real processes on the database under test: two of them never deliver
one job twice, and a worker killed with SIGKILL mid-delivery leaves its job to
another once the lease runs out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from factorflow.bootstrap import Services
from tests.jobs.conftest import add_smtp, enqueue_email, load_job, wait_for
from tests.notify.servers import Recorder, SmtpServer


class WorkerProcesses:
    def __init__(self, services: Services, database_url: str, logs: Path) -> None:
        self.env = {
            **os.environ,
            "FACTORFLOW_DATA_DIR": str(services.settings.data_dir),
            "FACTORFLOW_DATABASE_URL": database_url,
            "FACTORFLOW_JOB_LEASE_SECONDS": "2",
            "FACTORFLOW_JOB_BACKOFF_BASE_SECONDS": "0.1",
            "FACTORFLOW_JOB_BACKOFF_MAX_SECONDS": "0.5",
            "FACTORFLOW_WORKER_POLL_SECONDS": "0.1",
        }
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.started)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "factorflow", "worker", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started.append(process)
        return process

    def output(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.logs.glob("worker-*.log")))

    def stop_all(self) -> None:
        # SIGTERM first: a --processes parent passes it on to its children.
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture
def workers(services: Services, database_url: str, tmp_path: Path) -> Iterator[WorkerProcesses]:
    procs = WorkerProcesses(services, database_url, tmp_path)
    yield procs
    procs.stop_all()


@pytest.mark.slow
def test_two_worker_processes_deliver_each_job_once(
    services: Services, recorder: Recorder, smtp_server: SmtpServer, workers: WorkerProcesses
) -> None:
    add_smtp(services, smtp_server.port)
    recorder.delay_seconds = 0.03
    parent = workers.start("--processes", "2", "--threads", "3")
    # Both children up before the work arrives, so that both take part.
    wait_for(lambda: workers.output().count(" started with ") == 2, timeout=120, interval=0.2)
    keys = [f"pair-{n}@factorflow.test" for n in range(60)]
    ids = [enqueue_email(services, idempotency_key=key) for key in keys]
    try:
        wait_for(lambda: len(recorder.messages) >= len(keys), timeout=90, interval=0.2)
        wait_for(lambda: all(load_job(services, i).state == "delivered" for i in ids), timeout=30)
    except AssertionError:
        raise AssertionError(workers.output()) from None
    assert recorder.message_ids() == Counter({f"<{key}>": 1 for key in keys})
    jobs = [load_job(services, i) for i in ids]
    assert all(len(job.attempt_log) == 1 and job.attempts == 1 for job in jobs)
    processes = {job.attempt_log[0].worker.rsplit(":", 1)[0] for job in jobs}
    assert len(processes) == 2, processes  # both processes took part
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(30) == 0, workers.output()
    assert workers.output().count(" stopped") == 2  # a graceful stop in each child


@pytest.mark.slow
def test_a_worker_killed_mid_delivery_leaves_the_job_to_another(
    services: Services, recorder: Recorder, smtp_server: SmtpServer, workers: WorkerProcesses
) -> None:
    add_smtp(services, smtp_server.port)
    recorder.stall_seconds = 60  # the first delivery hangs inside DATA
    first = workers.start("--threads", "1")
    job_id = enqueue_email(services, idempotency_key="killed-1@factorflow.test")
    try:
        wait_for(recorder.stalled.is_set, timeout=60)
    except AssertionError:
        raise AssertionError(workers.output()) from None
    assert load_job(services, job_id).state == "running"
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    recorder.stall_seconds = 0
    workers.start("--threads", "1")
    try:
        wait_for(lambda: load_job(services, job_id).state == "delivered", timeout=60)
    except AssertionError:
        raise AssertionError(workers.output()) from None
    assert recorder.message_ids() == Counter({"<killed-1@factorflow.test>": 1})
    job = load_job(services, job_id)
    outcomes = [(a.number, a.outcome) for a in job.attempt_log]
    assert outcomes == [(1, "lease_expired"), (2, "delivered")]
    assert job.attempt_log[0].worker != job.attempt_log[1].worker


@pytest.mark.slow
def test_children_stop_when_their_parent_is_killed(workers: WorkerProcesses) -> None:
    parent = workers.start("--processes", "2", "--threads", "1")
    wait_for(lambda: workers.output().count(" started with ") == 2, timeout=120, interval=0.2)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    wait_for(lambda: workers.output().count(" stopped") == 2, timeout=30, interval=0.2)
    assert workers.output().count("is gone") == 2
