"""A broker restarted under the stream: events published before the restart are not sent
again, the one raised while the broker was down is retried and arrives once it is back,
and the subscriber sees each event once. The brokers are the tests' own processes (the
machine's shared ones are not stopped): a Redis server and a NATS server with JetStream
on a file store, each killed and started again on the same port."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.events.streams.brokers import run_coroutine
from tests.streams.conftest import H, all_delivered, closed_port, configure, deliver, jobs, trigger


class Broker:
    """A broker process of the test's own, on a fixed port, that can be killed and
    started again."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, port: int) -> None:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.command[0]} did not listen on {port}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def broker_port() -> int:
    return closed_port()


def _need(binary: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists()
                                    else None)  # fmt: skip
    if path is None:
        pytest.skip(f"{binary} is not installed")
    return path


@pytest.fixture
def redis_broker(broker_port: int) -> Iterator[Broker]:
    server = _need("redis-server")
    broker = Broker([server, "--port", str(broker_port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no"])  # fmt: skip
    broker.start(broker_port)
    yield broker
    with contextlib.suppress(Exception):
        broker.kill()


@pytest.fixture
def nats_broker(broker_port: int, tmp_path: Path) -> Iterator[Broker]:
    server = _need("nats-server")
    broker = Broker([server, "-a", "127.0.0.1", "-p", str(broker_port), "-js",
                     "-sd", str(tmp_path / "jetstream")])  # fmt: skip
    broker.start(broker_port)
    yield broker
    with contextlib.suppress(Exception):
        broker.kill()


def _events(raw: list[bytes]) -> list[str]:
    return [JSONFormat().read(None, body).get_id() for body in raw]


def _raise_one_while_down(
    client: TestClient, services: Services, broker: Broker, read: Callable[[], object]
) -> None:
    """One event delivered and ``read``; the broker killed; a second event retried
    while it is down."""
    trigger(client, "BEFORE")
    deliver(services, all_delivered(services))
    read()
    broker.kill()
    trigger(client, "DURING")
    deliver(services, lambda: jobs(services)[-1].attempts >= 2)
    assert jobs(services)[-1].state == "queued" and jobs(services)[-1].last_error


def test_redis_restarted(
    client: TestClient, admin_headers: H, services: Services, redis_broker: Broker,
    broker_port: int,
) -> None:  # fmt: skip
    import redis

    configure(client, admin_headers, "restart", kind="redis", events="validate_check",
              url=f"redis://127.0.0.1:{broker_port}/0", stream_key="ff-restart")  # fmt: skip
    seen: list[bytes] = []

    def read_new(after: Any) -> Any:
        subscriber = redis.Redis(host="127.0.0.1", port=broker_port)
        try:
            for _stream, entries in subscriber.xread({"ff-restart": after}) or []:
                for entry_id, fields in entries:
                    seen.append(fields[b"data"])
                    after = entry_id
        finally:
            subscriber.close()
        return after

    _raise_one_while_down(client, services, redis_broker, lambda: read_new(b"0"))
    redis_broker.start(broker_port)  # empty: this Redis keeps nothing on disk
    deliver(services, all_delivered(services))
    read_new(b"0")
    assert _events(seen) == [job.idempotency_key for job in jobs(services)]


def test_nats_jetstream_restarted(
    client: TestClient, admin_headers: H, services: Services, nats_broker: Broker,
    broker_port: int,
) -> None:  # fmt: skip
    import nats

    url = f"nats://127.0.0.1:{broker_port}"

    def run(work: Any) -> Any:
        async def main() -> Any:
            connection = await nats.connect(url, connect_timeout=2)
            try:
                return await work(connection.jetstream())
            finally:
                await connection.close()

        return run_coroutine(main)

    async def create(js: Any) -> None:
        await js.add_stream(name="FFRESTART", subjects=["ff.restart.>"])

    async def fetch_all(js: Any) -> list[bytes]:
        sub = await js.pull_subscribe("ff.restart.>", durable=None, stream="FFRESTART")
        got: list[Any] = []
        with contextlib.suppress(Exception):
            got = await sub.fetch(10, timeout=1)
        return [message.data for message in got]

    run(create)
    configure(client, admin_headers, "restart", kind="nats", events="validate_check",
              url=url, subject="ff.restart.events", stream="FFRESTART", timeout="2")  # fmt: skip
    _raise_one_while_down(client, services, nats_broker, lambda: None)
    nats_broker.start(broker_port)  # the stream and its first message are on disk
    deliver(services, all_delivered(services))
    # Each event once, in order: the one from before the restart was not sent again.
    assert _events(run(fetch_all)) == [job.idempotency_key for job in jobs(services)]
