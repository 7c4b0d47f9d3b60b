"""The options of each broker kind, validated on save (a bad one is a 400), and the
broker plug-in API: a kind is a :class:`BrokerOptions` subclass that names its
``kind`` and implements :meth:`BrokerOptions.publish`, registered under the
entry-point group ``factorflow.stream_brokers`` (the built-ins register the same
way)::

    class KafkaOptions(BrokerOptions):
        kind = "kafka"
        bootstrap_servers: str
        topic: str

        def publish(self, event_id: str, body: bytes) -> str:
            ...  # send body keyed by event_id, wait for the acknowledgement
            return "acknowledged"

``publish`` follows the deliverer's contract (``factorflow.jobs.base``): it runs in a
worker thread, may run again for the same ``event_id`` (pass it on so that the
broker or the subscriber drops the duplicate), raises ``DeliveryError`` for what a
retry may fix, and finishes within ``timeout``.

Secret options (``password``, ``token``) are sealed at rest and answered as
``__CENSORED__``; :data:`SECRET_OPTIONS` names them. URLs carry no credentials: they
would be stored and answered readable, so a URL with a user or password is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from factorflow.registry import Registry

#: Options kept sealed, in every kind that has them.
SECRET_OPTIONS = frozenset({"password", "token"})

Name = Annotated[str, Field(min_length=1, max_length=250, pattern=r"^[^\s\x00-\x1f]+$")]


def _url(value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"url must be a {' or '.join(s + '://' for s in schemes)} URL")
    if parts.username or parts.password:
        raise ValueError("url must not carry credentials: use username and password")
    try:
        parts.port  # noqa: B018  (raises for a port out of range)
    except ValueError:
        raise ValueError("url has an invalid port") from None
    return value


class BrokerOptions(BaseModel):
    """What every kind has."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: ClassVar[str]
    username: str = Field(default="", max_length=255)
    password: str = Field(default="", max_length=1000)
    #: Seconds for connecting and publishing one message.
    timeout: float = Field(default=5.0, gt=0, le=60)
    #: Verify the broker's certificate (TLS only).
    tls_verify: bool = True

    def target(self) -> str:
        """Where messages go, for the job listing."""
        return ""

    def publish(self, event_id: str, body: bytes) -> str:
        """Publish ``body`` (the CloudEvent's JSON) as ``event_id``; a short note."""
        raise NotImplementedError


class NatsOptions(BrokerOptions):
    kind = "nats"
    url: str = Field(min_length=1, max_length=2000, description="nats:// or tls:// URL")
    subject: Name
    #: The JetStream stream that must hold ``subject`` (the publish acknowledgement
    #: must come from it); empty: any stream that binds the subject.
    stream: str = Field(default="", max_length=250, pattern=r"^[^\s.*>]*$")
    token: str = Field(default="", max_length=1000)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(value, ("nats", "tls"))

    def target(self) -> str:
        return f"{urlsplit(self.url).hostname} {self.subject}"

    def publish(self, event_id: str, body: bytes) -> str:
        from factorflow.events.streams.brokers import publish_nats

        return publish_nats(self, event_id, body)


class AmqpOptions(BrokerOptions):
    kind = "amqp"
    url: str = Field(min_length=1, max_length=2000, description="amqp:// or amqps:// URL")
    #: "" is the default exchange (the routing key then names a queue).
    exchange: str = Field(default="", max_length=250)
    routing_key: str = Field(default="", max_length=250)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(value, ("amqp", "amqps"))

    def target(self) -> str:
        return f"{urlsplit(self.url).hostname} {self.exchange}/{self.routing_key}"

    def publish(self, event_id: str, body: bytes) -> str:
        from factorflow.events.streams.brokers import publish_amqp

        return publish_amqp(self, event_id, body)


class RedisOptions(BrokerOptions):
    kind = "redis"
    url: str = Field(min_length=1, max_length=2000, description="redis:// or rediss:// URL")
    stream_key: Name
    #: Trim the stream to about this many entries (0: never trim).
    maxlen: int = Field(default=0, ge=0, le=1_000_000_000)
    #: How long a message id is remembered to drop a redelivered duplicate.
    dedup_seconds: int = Field(default=86400, ge=60, le=30 * 86400)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(value, ("redis", "rediss"))

    def target(self) -> str:
        return f"{urlsplit(self.url).hostname} {self.stream_key}"

    def publish(self, event_id: str, body: bytes) -> str:
        from factorflow.events.streams.brokers import publish_redis

        return publish_redis(self, event_id, body)


class MqttOptions(BrokerOptions):
    kind = "mqtt"
    host: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.\-:\[\]]+$")
    port: int = Field(default=1883, ge=1, le=65535)
    topic: str = Field(min_length=1, max_length=250, pattern=r"^[^#+\x00-\x1f]+$")
    qos: int = Field(default=1, ge=0, le=2, description="MQTT QoS: 0, 1 or 2")
    tls: bool = False

    def target(self) -> str:
        return f"{self.host} {self.topic}"

    def publish(self, event_id: str, body: bytes) -> str:
        from factorflow.events.streams.brokers import publish_mqtt

        return publish_mqtt(self, event_id, body)


GROUP = "factorflow.stream_brokers"


def broker_kinds() -> Registry[BrokerOptions]:
    """The installed broker kinds (loaded on first use)."""
    return Registry.from_entry_points(GROUP, BrokerOptions)


def parse_options(
    kinds: Mapping[str, type[BrokerOptions]], kind: str, values: dict[str, Any]
) -> BrokerOptions:
    """``values`` validated as options of ``kind`` (ValueError / ValidationError)."""
    if kind not in kinds:
        raise ValueError(f"kind must be one of {', '.join(sorted(kinds))}")
    return kinds[kind].model_validate(values)


__all__ = [
    "GROUP",
    "SECRET_OPTIONS",
    "AmqpOptions",
    "BrokerOptions",
    "MqttOptions",
    "NatsOptions",
    "RedisOptions",
    "broker_kinds",
    "parse_options",
]
