"""The job-kind plug-in API: a :class:`Deliverer` delivers one kind of job.

A deliverer subclasses :class:`Deliverer`, names its ``kind`` and is registered under
the entry-point group ``factorflow.job_kinds`` (built-ins register the same way)::

    class PagerDeliverer(Deliverer):
        kind = "pager"

        def deliver(self, job: JobView) -> str:
            reply = page(job.payload["number"], key=job.idempotency_key)
            return f"pager accepted {reply.id}"

A deliverer gets :class:`DeliveryPorts` (built by the composition root), never the
services: its own transactions to read its configuration at delivery time, the
secret box, the settings, and the resolver that computes what is rendered only at
delivery (a challenge's OTP).

Contract for ``deliver``:

* It runs in a worker thread, outside any request, and may be called again for the
  same job (at-least-once delivery: a worker can die after the receiver accepted but
  before the success was recorded). It must pass ``job.idempotency_key`` to the
  receiver (a Message-ID, an ``Idempotency-Key`` header) so the receiver can drop
  the duplicate.
* Return a short note on success (what the receiver answered) or ``""``.
* Raise :class:`DeliveryError` for a failure worth retrying (timeouts, refused
  connections, 4xx SMTP replies, HTTP 5xx) and :class:`PermanentDeliveryError` for
  one that retrying cannot fix (unknown configuration, a refused recipient); the
  job then goes straight to the dead-letter state. Any other exception counts as
  retryable, and its class name and message are recorded.
* Finish well within ``Settings.job_lease_seconds``: after that another worker may
  start the same job.

``recipient(payload)`` says whom a payload goes to (an address, a phone number, a
host); ``/jobs/`` shows it masked, and it stays after the payload is purged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy.orm import Session, sessionmaker

from factorflow.crypto import SecretBox
from factorflow.settings import Settings


class DeliveryError(Exception):
    """A delivery failed; another attempt may succeed."""

    permanent: ClassVar[bool] = False


class PermanentDeliveryError(DeliveryError):
    """A delivery failed in a way no retry can fix."""

    permanent = True


@dataclass(frozen=True)
class JobView:
    """What a deliverer gets: an immutable snapshot of the claimed job."""

    id: int
    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    #: 1 for the first attempt of the current budget.
    attempt: int
    max_attempts: int
    request_id: str = ""
    definition: str = ""


def unchanged(payload: dict[str, Any]) -> dict[str, Any]:
    return payload


@dataclass(frozen=True)
class DeliveryPorts:
    """What a deliverer may use."""

    #: Short transactions of its own (a deliverer runs outside any request).
    sessions: sessionmaker[Session]
    box: SecretBox
    settings: Settings
    #: The payload with what is rendered only at delivery filled in (a challenge's
    #: OTP); raises :class:`PermanentDeliveryError` when that can no longer be done.
    resolve_payload: Callable[[dict[str, Any]], dict[str, Any]] = unchanged


class Deliverer(ABC):
    """Delivers jobs of one ``kind``. One instance per worker process, shared by its
    threads: keep it free of per-delivery mutable state."""

    kind: ClassVar[str]

    def __init__(self, ports: DeliveryPorts) -> None:
        self.ports = ports

    @abstractmethod
    def deliver(self, job: JobView) -> str:
        """Deliver ``job`` or raise :class:`DeliveryError`; see the module contract."""

    @classmethod
    def recipient(cls, payload: Mapping[str, Any]) -> str:
        """Whom ``payload`` goes to, for the job listing ("" if nobody in particular)."""
        del payload
        return ""


__all__ = ["Deliverer", "DeliveryError", "DeliveryPorts", "JobView", "PermanentDeliveryError"]
