"""The ``eventstream`` job kind: publishes one CloudEvent to its stream's broker.

The stream's configuration is read at delivery (a fixed URL reaches the jobs still
waiting); a stream deleted since is a permanent failure. The CloudEvent is the one
built at request time, sealed in the job; its ``id`` is the job's idempotency key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from factorflow.db.base import transaction
from factorflow.events.streams.options import broker_kinds
from factorflow.events.streams.service import JOB_KIND, stored_options
from factorflow.jobs.base import (
    Deliverer,
    DeliveryError,
    DeliveryPorts,
    JobView,
    PermanentDeliveryError,
)


class EventStreamDeliverer(Deliverer):
    kind = JOB_KIND

    def __init__(self, ports: DeliveryPorts) -> None:
        super().__init__(ports)
        self.kinds = broker_kinds()

    @classmethod
    def recipient(cls, payload: Mapping[str, Any]) -> str:
        stream = payload.get("stream")
        return stream if isinstance(stream, str) else ""

    def deliver(self, job: JobView) -> str:
        stream, body = job.payload.get("stream"), job.payload.get("cloudevent")
        if not isinstance(stream, str) or not isinstance(body, str):
            raise PermanentDeliveryError("Job payload needs stream and cloudevent")
        try:
            with transaction(self.ports.sessions) as session:
                options = stored_options(session, self.ports.box, stream, self.kinds)
        except SQLAlchemyError as exc:
            raise DeliveryError(f"the database is unavailable: {type(exc).__name__}") from None
        except Exception as exc:
            raise PermanentDeliveryError(
                f"the configuration of stream {stream!r} cannot be read: {type(exc).__name__}"
            ) from None
        if options is None:
            raise PermanentDeliveryError(f"the event stream {stream!r} no longer exists")
        return options.publish(job.idempotency_key, body.encode())


__all__ = ["EventStreamDeliverer"]
