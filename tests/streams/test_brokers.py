"""Against the real brokers on this machine: a subscriber with the broker's own client
gets each event's CloudEvent once, with the expected attributes; a broker that is
down (a closed port) makes the job retry, and the event arrives once the
configuration is fixed; a redelivered job adds no second message where the broker
can drop it (NATS JetStream, Redis)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.events.streams.brokers import run_coroutine
from factorflow.events.streams.service import stored_options
from tests.streams.conftest import (
    H,
    all_delivered,
    closed_port,
    configure,
    deliver,
    jobs,
    need,
    trigger,
    unique,
)


def check_event(raw: bytes | str, event_id: str, serial: str = "NOSUCH") -> None:
    event = JSONFormat().read(None, raw)
    assert event.get_id() == event_id
    assert event.get_specversion() == "1.0"
    assert event.get_type() == "org.factorflow.event.validate_check"
    assert event.get_source().startswith("urn:factorflow") or "://" in event.get_source()
    assert event.get_subject() == serial
    data = event.get_data()
    assert isinstance(data, dict)
    assert data["request"]["path"] == "/validate/check"
    assert data["request"]["params"] == {"pass": "__CENSORED__", "serial": serial}
    assert data["outcome"]["status"] in (200, 400, 404)
    assert data["token"]["serial"] == serial


def redeliver(services: Services, name: str, job_key: str, body: str) -> str:
    """What a second attempt of the same job does (a worker died after the broker
    accepted): the same id, the same body."""
    with services.sessions() as session:
        options = stored_options(session, services.box, name)
    assert options is not None
    return options.publish(job_key, body.encode())


def job_body(services: Services, index: int = 0) -> tuple[str, str]:
    from factorflow.jobs.base import JobView
    from factorflow.jobs.payload import opened

    job = jobs(services)[index]
    view = opened(services.box, JobView(job.id, job.kind, job.payload, job.idempotency_key, 1, 5))
    return job.idempotency_key, view.payload["cloudevent"]


def down_then_fixed(
    client: TestClient,
    admin_headers: H,
    services: Services,
    name: str,
    broken: dict[str, Any],
    fixed: dict[str, Any],
) -> None:
    """Configured at a closed port: the job fails and is retried; fixed: delivered."""
    configure(client, admin_headers, name, events="validate_check", **broken)
    trigger(client)
    deliver(services, lambda: jobs(services)[0].attempts >= 2)
    job = jobs(services)[0]
    assert job.state == "queued" and job.last_error
    configure(client, admin_headers, name, events="validate_check", **fixed)
    deliver(services, all_delivered(services))
    assert jobs(services)[0].attempts >= 3


# -- Redis Streams ----------------------------------------------------------------------


@pytest.fixture
def redis_client() -> Iterator[Any]:
    need("redis")
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    yield client
    client.close()


def test_redis(client: TestClient, admin_headers: H, services: Services, redis_client: Any) -> None:
    key = unique("ff-test-")
    try:
        port = closed_port()
        down_then_fixed(
            client, admin_headers, services, "r",
            {"kind": "redis", "url": f"redis://127.0.0.1:{port}/0", "stream_key": key},
            {"kind": "redis", "url": "redis://127.0.0.1:6379/0", "stream_key": key},
        )  # fmt: skip
        entries = redis_client.xrange(key)
        event_id, body = job_body(services)
        assert len(entries) == 1
        fields = entries[0][1]
        assert fields[b"id"].decode() == event_id
        assert fields[b"content-type"] == b"application/cloudevents+json"
        check_event(fields[b"data"], event_id)
        # A second attempt of the same job adds nothing.
        assert "duplicate" in redeliver(services, "r", event_id, body)
        assert len(redis_client.xrange(key)) == 1
    finally:
        redis_client.delete(key)
        for marker in redis_client.scan_iter(f"{key}:ce:*"):
            redis_client.delete(marker)


def test_redis_filter_narrows_and_maxlen_trims(
    client: TestClient, admin_headers: H, services: Services, redis_client: Any
) -> None:
    key = unique("ff-test-")
    try:
        configure(
            client, admin_headers, "r", kind="redis", url="redis://127.0.0.1:6379/0",
            stream_key=key, conditions=json.dumps({"serial": "^KEEP"}),
        )  # fmt: skip
        trigger(client, "KEEP1")
        trigger(client, "DROP1")
        trigger(client, "KEEP2")
        deliver(services, all_delivered(services))
        subjects = [
            JSONFormat().read(None, fields[b"data"]).get_subject()
            for _, fields in redis_client.xrange(key)
        ]
        assert subjects == ["KEEP1", "KEEP2"]
    finally:
        redis_client.delete(key)
        for marker in redis_client.scan_iter(f"{key}:ce:*"):
            redis_client.delete(marker)


# -- NATS JetStream ---------------------------------------------------------------------


def nats_run(work: Callable[[Any], Any]) -> Any:
    import nats

    async def main() -> Any:
        nc = await nats.connect("nats://127.0.0.1:4222", connect_timeout=2)
        try:
            return await work(nc.jetstream())
        finally:
            await nc.close()

    return run_coroutine(main)


def test_nats_jetstream(client: TestClient, admin_headers: H, services: Services) -> None:
    need("nats")
    stream = unique("FFTEST")
    subject = f"ff.test.{stream}"

    async def create(js: Any) -> None:
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])

    async def delete(js: Any) -> None:
        await js.delete_stream(stream)

    nats_run(create)
    try:
        port = closed_port()
        down_then_fixed(
            client, admin_headers, services, "n",
            {"kind": "nats", "url": f"nats://127.0.0.1:{port}", "subject": f"{subject}.events",
             "timeout": "2"},
            {"kind": "nats", "url": "nats://127.0.0.1:4222", "subject": f"{subject}.events",
             "stream": stream},
        )  # fmt: skip
        event_id, body = job_body(services)
        assert "duplicate" in redeliver(services, "n", event_id, body)

        async def fetch(js: Any) -> list[Any]:
            sub = await js.pull_subscribe(f"{subject}.>", durable=None, stream=stream)
            got = []
            with contextlib.suppress(Exception):
                got = await sub.fetch(10, timeout=1)
            return [(m.headers, m.data) for m in got]

        messages = nats_run(fetch)
        assert len(messages) == 1
        headers, data = messages[0]
        assert headers["Nats-Msg-Id"] == event_id
        check_event(data, event_id)
    finally:
        nats_run(delete)


# -- AMQP (RabbitMQ) --------------------------------------------------------------------


def test_amqp(client: TestClient, admin_headers: H, services: Services) -> None:
    need("amqp")
    import pika

    connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/"))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    routing = unique("ff.test.")
    channel.queue_bind(queue, "amq.topic", routing_key=routing)
    try:
        port = closed_port()
        fixed = {"kind": "amqp", "url": "amqp://127.0.0.1:5672/", "exchange": "amq.topic",
                 "routing_key": routing, "username": "guest", "password": "guest"}  # fmt: skip
        down_then_fixed(
            client, admin_headers, services, "a",
            {**fixed, "url": f"amqp://127.0.0.1:{port}/", "timeout": "2"},
            {**fixed, "password": "__CENSORED__"},
        )  # fmt: skip
        event_id, _ = job_body(services)
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        assert method is not None
        assert properties.message_id == event_id
        assert properties.content_type == "application/cloudevents+json"
        check_event(body, event_id)
        assert channel.basic_get(queue, auto_ack=True)[0] is None  # exactly once
    finally:
        connection.close()


def test_amqp_unroutable_is_retried(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    need("amqp")
    configure(
        client, admin_headers, "a", kind="amqp", url="amqp://127.0.0.1:5672/",
        exchange="amq.topic", routing_key=unique("ff.nobody."), username="guest",
        password="guest", events="validate_check",
    )  # fmt: skip
    trigger(client)
    deliver(
        services, lambda: jobs(services)[0].attempts >= 1 and jobs(services)[0].last_error != ""
    )
    assert "no queue is bound" in jobs(services)[0].last_error


# -- MQTT (Mosquitto) -------------------------------------------------------------------


def test_mqtt(client: TestClient, admin_headers: H, services: Services) -> None:
    need("mqtt")
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    topic = f"ff/test/{unique('')}"
    received: list[Any] = []
    subscribed = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = lambda _c, _u, message: received.append(message)
    sub.on_subscribe = lambda *_args: subscribed.set()
    sub.connect("127.0.0.1", 1883)
    sub.loop_start()
    try:
        sub.subscribe(topic, qos=1)
        assert subscribed.wait(5)
        port = closed_port()
        down_then_fixed(
            client, admin_headers, services, "m",
            {"kind": "mqtt", "host": "127.0.0.1", "port": str(port), "topic": topic,
             "timeout": "2"},
            {"kind": "mqtt", "host": "127.0.0.1", "port": "1883", "topic": topic, "qos": "1"},
        )  # fmt: skip
        event_id, _ = job_body(services)
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(received) == 1
        message = received[0]
        assert message.properties.ContentType == "application/cloudevents+json"
        assert ("ce-id", event_id) in message.properties.UserProperty
        check_event(message.payload, event_id)
    finally:
        sub.disconnect()
        sub.loop_stop()
