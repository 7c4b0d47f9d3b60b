from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.jobs.models import Job
from factorflow.settings import Settings
from factorflow.worker import Worker
from tests.conftest import test_settings

H = dict[str, str]
KIND = "eventstream"

#: Short backoff so that a retry is due within a fraction of a second.
FAST = {
    "job_max_attempts": 5,
    "job_backoff_base_seconds": 0.05,
    "job_backoff_max_seconds": 0.1,
    "worker_poll_seconds": 0.05,
}

BROKERS = {
    "nats": ("127.0.0.1", 4222),
    "amqp": ("127.0.0.1", 5672),
    "redis": ("127.0.0.1", 6379),
    "mqtt": ("127.0.0.1", 1883),
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return test_settings(tmp_path / "data", database_url, **FAST)


def reachable(kind: str) -> bool:
    try:
        with socket.create_connection(BROKERS[kind], timeout=0.5):
            return True
    except OSError:
        return False


def need(kind: str) -> None:
    """Skip without the broker; under CI (which starts the brokers) fail instead."""
    if not reachable(kind):
        message = f"no {kind} broker on {BROKERS[kind][0]}:{BROKERS[kind][1]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def configure(client: TestClient, headers: H, name: str, **fields: Any) -> Any:
    r = client.post(f"/eventstream/{name}", data=fields, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["result"]["value"]


def trigger(client: TestClient, serial: str = "NOSUCH") -> None:
    """One validate_check event (a token that does not exist: answered, not a 500)."""
    r = client.post("/validate/check", data={"serial": serial, "pass": "123456"})
    assert r.status_code < 500


def jobs(services: Services) -> list[Job]:
    with services.sessions() as session:
        rows = session.scalars(select(Job).where(Job.kind == KIND).order_by(Job.id))
        return list(rows)


def deliver(services: Services, until: Callable[[], bool], timeout: float = 15.0) -> None:
    """Run the worker until ``until()`` holds (retries come due after the backoff)."""
    worker = Worker(services)
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError(f"not delivered within {timeout}s: {jobs(services)!r}")
        if not worker.run_once():
            time.sleep(0.02)


def all_delivered(services: Services) -> Callable[[], bool]:
    def check() -> bool:
        rows = jobs(services)
        return bool(rows) and all(row.state == "delivered" for row in rows)

    return check
