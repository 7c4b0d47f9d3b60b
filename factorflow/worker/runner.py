"""The delivery worker: N threads that claim due jobs and hand them to the deliverer
of their kind.

``factorflow serve`` runs one :class:`Worker` inside each API process (when
``Settings.embedded_worker``); ``factorflow worker --processes N`` runs N processes
with one each for scale-out. Any number of workers may share one database.

Each worker also runs the scheduler of scheduled event definitions
(:mod:`factorflow.events.scheduler`) in one more thread, which looks for due
definitions every few seconds; nodes claim each slot with a conditional UPDATE, so
it runs once however many workers there are.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from factorflow.audit.record import AuditRecord
from factorflow.db.base import utcnow
from factorflow.errors import ServerError
from factorflow.events.scheduler import CHECK_SECONDS, Scheduler
from factorflow.jobs.base import Deliverer, DeliveryError
from factorflow.jobs.models import JobState
from factorflow.jobs.payload import opened
from factorflow.jobs.queue import Claim, JobQueue

if TYPE_CHECKING:
    from factorflow.bootstrap import Services

log = logging.getLogger(__name__)

#: How often an idle worker purges the payloads of delivered jobs past retention.
PURGE_EVERY_SECONDS = 60.0


def build_deliverers(services: Services) -> dict[str, Deliverer]:
    """One deliverer instance per registered job kind."""
    deliverers: dict[str, Deliverer] = {}
    for kind, cls in services.job_kinds.items():
        if getattr(cls, "kind", kind) != kind:
            raise ServerError(
                f"Job kind entry point {kind!r} names {cls.__module__}.{cls.__qualname__}, "
                f"whose kind is {cls.kind!r}"
            )
        deliverers[kind] = cls(services.delivery_ports)
    return deliverers


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, DeliveryError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Worker:
    """Claims and delivers jobs until stopped. Thread-safe; ``run_once`` lets a
    caller (a test, a one-shot command) drive it without threads."""

    def __init__(
        self,
        services: Services,
        *,
        threads: int | None = None,
        poll_seconds: float | None = None,
        name: str = "",
        deliverers: Mapping[str, Deliverer] | None = None,
        scheduler: bool = True,
        schedule_seconds: float = CHECK_SECONDS,
    ) -> None:
        settings = services.settings
        self.services = services
        self.queue = JobQueue(services.sessions, settings)
        self.threads = threads or settings.worker_threads
        self.poll_seconds = (
            poll_seconds if poll_seconds is not None else settings.worker_poll_seconds
        )
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.deliverers = dict(deliverers) if deliverers is not None else build_deliverers(services)
        self._stopping = threading.Event()
        self._running: list[threading.Thread] = []
        self._purge_lock = threading.Lock()
        self._purged_at = float("-inf")
        #: Runs scheduled definitions in its own thread (None: this worker does not).
        self.scheduler = (
            Scheduler(services.event_ports, stopping=self._stopping.is_set) if scheduler else None
        )
        self.schedule_seconds = schedule_seconds

    # -- one job -----------------------------------------------------------------------

    def run_once(self) -> bool:
        """Claim and deliver one due job; False if none was due (then purge the
        payloads of delivered jobs past retention, at most once a minute)."""
        claim = self.queue.claim(self.name)
        if claim is None:
            self._purge_when_due()
            return False
        self._deliver(claim)
        return True

    def _purge_when_due(self) -> None:
        now = time.monotonic()
        with self._purge_lock:
            if now - self._purged_at < PURGE_EVERY_SECONDS:
                return
            self._purged_at = now
        purged = self.queue.purge_delivered()
        if purged:
            log.info("worker %s purged the payloads of %s delivered jobs", self.name, purged)

    def drain(self, limit: int = 1000) -> int:
        """Deliver due jobs until none is due (or ``limit``); returns how many ran."""
        count = 0
        while count < limit and self.run_once():
            count += 1
        return count

    def _deliver(self, claim: Claim) -> None:
        job = claim.job
        started = time.monotonic()
        deliverer = self.deliverers.get(job.kind)
        if deliverer is None:
            error = f"No deliverer for job kind {job.kind!r} in this worker"
            state = self.queue.failed(claim, error, permanent=True)
            self._audit(claim, state, error, started)
            return
        try:
            sealed_open = opened(self.services.box, job)
        except (ServerError, ValueError):
            error = "The sealed part of the payload cannot be decrypted with this server's key"
            state = self.queue.failed(claim, error, permanent=True)
            self._audit(claim, state, error, started)
            return
        try:
            detail = deliverer.deliver(sealed_open)
        except DeliveryError as exc:
            error = describe_error(exc)
            state = self.queue.failed(claim, error, permanent=exc.permanent)
            log.info("job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempt, error)
            self._audit(claim, state, error, started)
        except Exception as exc:
            log.warning("job %s (%s) deliverer raised", job.id, job.kind, exc_info=True)
            error = describe_error(exc)
            state = self.queue.failed(claim, error)
            self._audit(claim, state, error, started)
        else:
            kept = self.queue.delivered(claim, detail or "")
            log.info("job %s (%s) delivered", job.id, job.kind)
            self._audit(claim, JobState.DELIVERED if kept else None, detail or "", started)

    def _audit(self, claim: Claim, state: JobState | None, text: str, started: float) -> None:
        """One audit entry per attempt, linked to the request that queued the job by
        its request_id, so the request's trail goes on: queued, then delivered,
        retried or dead."""
        job = claim.job
        outcome = state.value if state is not None else "reported after its lease ran out"
        if state is JobState.QUEUED:
            outcome = "failed, will retry"
        record = AuditRecord(
            action=f"JOB {job.kind}",
            request_id=job.request_id,
            startdate=utcnow(),
            node=self.services.settings.node_name,
            success=state is JobState.DELIVERED,
            action_detail=(
                f"job={job.id} attempt={claim.attempt_number} definition={job.definition}"
            ),
            info=f"{outcome}: {text}" if text else outcome,
            duration=time.monotonic() - started,
        )
        self.services.audit.write(record)

    # -- threads -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the delivery threads (daemon threads: they never block exit)."""
        self._stopping.clear()
        for index in range(self.threads):
            thread = threading.Thread(
                target=self._loop, name=f"factorflow-worker-{index}", daemon=True
            )
            thread.start()
            self._running.append(thread)
        if self.scheduler is not None:
            thread = threading.Thread(
                target=self._schedule_loop, name="factorflow-scheduler", daemon=True
            )
            thread.start()
            self._running.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the threads to stop after their current delivery and wait for them.
        A delivery still running at the timeout is left to the lease."""
        self._stopping.set()
        self.services.jobs.wake.set()
        for thread in self._running:
            thread.join(timeout)
        self._running = [t for t in self._running if t.is_alive()]

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _loop(self) -> None:
        wake = self.services.jobs.wake
        while not self._stopping.is_set():
            try:
                handled = self.run_once()
            except Exception:
                # The database may be away for a while; keep polling rather than die.
                log.exception("worker %s could not claim a job", self.name)
                handled = False
            if handled:
                continue
            if wake.wait(self.poll_seconds):
                wake.clear()

    def _schedule_loop(self) -> None:
        assert self.scheduler is not None
        while not self._stopping.wait(self.schedule_seconds):
            try:
                self.scheduler.run_due()
            except Exception:
                log.exception("worker %s could not run scheduled definitions", self.name)


__all__ = ["Worker", "build_deliverers"]
