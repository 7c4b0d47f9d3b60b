from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.db.base import is_retryable_conflict, transaction
from factorflow.jobs.models import Job
from factorflow.settings import Settings
from tests.conftest import test_settings
from tests.notify.conftest import recorder, sms_gateway, smtp_server  # noqa: F401

#: Short leases and backoff so that retry and lease scenarios run in seconds.
FAST = {
    "job_max_attempts": 3,
    "job_backoff_base_seconds": 0.05,
    "job_backoff_max_seconds": 0.2,
    "job_lease_seconds": 2.0,
    "worker_threads": 2,
    "worker_poll_seconds": 0.05,
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return test_settings(tmp_path / "data", database_url, **FAST)


def wait_for(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def enqueue_email(
    services: Services, smtp: str = "mail1", to: str = "alice@example.org", **extra: Any
) -> int:
    payload = {"smtp": smtp, "to": [to], "subject": "Hello", "body": "Body text"}
    # Retried on a write conflict, as the request pipeline does (SQLite with workers
    # in other processes).
    for attempt in range(20):
        try:
            with transaction(services.sessions) as session:
                return services.jobs.enqueue(session, kind="email", payload=payload, **extra)
        except OperationalError as exc:
            if not is_retryable_conflict(exc) or attempt == 19:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def load_job(services: Services, job_id: int) -> Job:
    with services.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        _ = job.attempt_log
        return job


def add_smtp(services: Services, port: int, identifier: str = "mail1") -> None:
    with transaction(services.sessions) as session:
        services.notify.save_smtp(
            session,
            identifier,
            {"server": "127.0.0.1", "port": port, "sender": "mfa@example.org", "timeout": 5},
        )


@pytest.fixture
def api(client: TestClient, admin_headers: dict[str, str]) -> Iterator[Callable[..., Any]]:
    def call(method: str, path: str, **kwargs: Any) -> Any:
        return client.request(method, path, headers=admin_headers, **kwargs)

    yield call
