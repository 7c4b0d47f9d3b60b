"""Publishing one CloudEvent (structured JSON) to each built-in broker kind, with the
broker's own client (each kind's ``BrokerOptions.publish`` calls its function here).
Each function connects, publishes, waits for the broker's acknowledgement and
disconnects (one event per job: no connection outlives a delivery); it raises
:class:`DeliveryError` for what a retry may fix (refused connection, timeout, no
acknowledgement, unroutable) and returns a short note.

De-duplication by the CloudEvent ``id`` (the job's idempotency key), since a job can
be delivered twice (at-least-once):

* NATS JetStream: the ``Nats-Msg-Id`` header; the stream drops a duplicate within its
  duplicate window (2 minutes by default).
* Redis: the message is added by a script that first sets ``<stream key>:ce:<id>``
  (NX, ``dedup_seconds``): a second attempt adds nothing.
* AMQP and MQTT have no broker-side de-duplication: ``message_id`` (AMQP) and the
  user property ``ce-id`` (MQTT 5) carry the id for subscribers to drop duplicates.

The clients are imported in the functions: a worker that publishes to no broker of a
kind carries no client for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from factorflow.events.streams.cloudevent import CONTENT_TYPE
from factorflow.events.streams.options import (
    AmqpOptions,
    MqttOptions,
    NatsOptions,
    RedisOptions,
)
from factorflow.jobs.base import DeliveryError

T = TypeVar("T")


def _tls(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _failed(exc: BaseException) -> DeliveryError:
    return DeliveryError(f"{type(exc).__name__}: {exc}"[:500])


# -- NATS JetStream -------------------------------------------------------------------


async def _nats(options: NatsOptions, event_id: str, body: bytes) -> str:
    import nats

    kwargs: dict[str, Any] = {
        "connect_timeout": options.timeout,
        "allow_reconnect": False,
        "max_reconnect_attempts": 0,
    }
    if options.username:
        kwargs.update(user=options.username, password=options.password)
    if options.token:
        kwargs["token"] = options.token
    if options.url.startswith("tls://"):
        kwargs["tls"] = _tls(options.tls_verify)

    async def quiet(exc: Exception) -> None:
        del exc  # the failure is raised below, not logged once per retry

    # nats-py goes on trying a refused first connection: bounded by the timeout.
    client = await asyncio.wait_for(
        nats.connect(options.url, error_cb=quiet, **kwargs), options.timeout
    )
    try:
        ack = await client.jetstream().publish(
            options.subject,
            body,
            timeout=options.timeout,
            stream=options.stream or None,
            headers={"Nats-Msg-Id": event_id, "Content-Type": CONTENT_TYPE},
        )
    finally:
        await client.close()
    return f"stream {ack.stream} seq {ack.seq}" + (" (duplicate)" if ack.duplicate else "")


def run_coroutine(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(make())``, in a thread of its own when this thread already runs an
    event loop (a delivery made from async code: asyncio.run refuses to nest)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(1, thread_name_prefix="publish") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def publish_nats(options: NatsOptions, event_id: str, body: bytes) -> str:
    try:
        return run_coroutine(lambda: _nats(options, event_id, body))
    except TimeoutError:
        raise DeliveryError(f"no answer from {options.url} within {options.timeout} s") from None
    except Exception as exc:
        raise _failed(exc) from None


# -- AMQP 0-9-1 (RabbitMQ) -------------------------------------------------------------


def publish_amqp(options: AmqpOptions, event_id: str, body: bytes) -> str:
    import pika
    import pika.exceptions

    params = pika.URLParameters(options.url)
    if options.username:
        params.credentials = pika.PlainCredentials(options.username, options.password)
    if options.url.startswith("amqps://"):
        params.ssl_options = pika.SSLOptions(_tls(options.tls_verify))
    params.socket_timeout = options.timeout
    params.blocked_connection_timeout = options.timeout
    params.connection_attempts = 1
    try:
        connection = pika.BlockingConnection(params)
    except Exception as exc:
        raise _failed(exc) from None
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            options.exchange,
            options.routing_key,
            body,
            properties=pika.BasicProperties(
                content_type=CONTENT_TYPE, message_id=event_id, delivery_mode=2
            ),
            # A message no queue takes is lost: retried until a queue is bound.
            mandatory=True,
        )
    except pika.exceptions.UnroutableError:
        raise DeliveryError("no queue is bound for the exchange and routing key") from None
    except Exception as exc:
        raise _failed(exc) from None
    finally:
        with contextlib.suppress(Exception):  # already closed by the broker
            connection.close()
    return f"confirmed by {options.exchange or '(default exchange)'}"


# -- Redis Streams --------------------------------------------------------------------

#: Adds the entry unless the id was added before (KEYS: stream, marker).
_XADD_ONCE = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  if tonumber(ARGV[2]) > 0 then
    return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*',
                      'id', ARGV[3], 'content-type', ARGV[4], 'data', ARGV[5])
  end
  return redis.call('XADD', KEYS[1], '*',
                    'id', ARGV[3], 'content-type', ARGV[4], 'data', ARGV[5])
end
return false
"""


def publish_redis(options: RedisOptions, event_id: str, body: bytes) -> str:
    import redis

    kwargs: dict[str, Any] = {
        "socket_timeout": options.timeout,
        "socket_connect_timeout": options.timeout,
    }
    if options.username:
        kwargs["username"] = options.username
    if options.password:
        kwargs["password"] = options.password
    if options.url.startswith("rediss://") and not options.tls_verify:
        kwargs["ssl_cert_reqs"] = "none"
    try:
        with redis.Redis.from_url(options.url, **kwargs) as client:
            entry = client.eval(
                _XADD_ONCE,
                2,
                options.stream_key,
                f"{options.stream_key}:ce:{event_id}",
                options.dedup_seconds,
                options.maxlen,
                event_id,
                CONTENT_TYPE,
                body,
            )
    except Exception as exc:
        raise _failed(exc) from None
    if entry is None:
        return "already added (duplicate)"
    return f"entry {entry.decode() if isinstance(entry, bytes) else entry}"


# -- MQTT -----------------------------------------------------------------------------


def publish_mqtt(options: MqttOptions, event_id: str, body: bytes) -> str:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"factorflow-{event_id[:18]}",
        protocol=mqtt.MQTTv5,
    )
    if options.username:
        client.username_pw_set(options.username, options.password or None)
    if options.tls:
        client.tls_set_context(_tls(options.tls_verify))
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ContentType = CONTENT_TYPE
    properties.UserProperty = [("ce-id", event_id)]
    try:
        client.connect(options.host, options.port, keepalive=max(5, int(options.timeout) * 2))
        client.loop_start()
        try:
            info = client.publish(options.topic, body, qos=options.qos, properties=properties)
            info.wait_for_publish(timeout=options.timeout)
            if not info.is_published():
                raise DeliveryError("the broker did not acknowledge the message in time")
        finally:
            client.disconnect()
            client.loop_stop()
    except DeliveryError:
        raise
    except Exception as exc:
        raise _failed(exc) from None
    return f"published with QoS {options.qos}"


__all__ = ["publish_amqp", "publish_mqtt", "publish_nats", "publish_redis"]
