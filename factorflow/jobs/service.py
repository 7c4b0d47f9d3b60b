"""Use cases of the job queue for requests and admins: enqueue, list, show, retry,
discard. The worker side (claim, report) is in :mod:`factorflow.jobs.queue`.

``enqueue`` writes into the caller's session and never commits: the job exists
exactly when the caller's transaction commits, and vanishes with its rollback.

Admins see a job's metadata only (kind, state, attempts, times, the masked
recipient, errors), never its payload: a message may carry a secret, which travels
sealed (:mod:`factorflow.jobs.payload`), and a delivered job's payload is purged
after ``Settings.job_payload_retention_seconds`` (:mod:`factorflow.jobs.queue`).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from factorflow.core.redaction import mask
from factorflow.crypto import SecretBox
from factorflow.db.base import utcnow
from factorflow.errors import ParameterError
from factorflow.jobs.base import Deliverer
from factorflow.jobs.errors import JobNotFoundError, JobStateError, UnknownJobKindError
from factorflow.jobs.models import Job, JobState
from factorflow.jobs.payload import sealed_payload
from factorflow.settings import Settings

MAX_KEY_LENGTH = 255
MAX_PAYLOAD_BYTES = 1024 * 1024

#: States from which an admin may retry or discard a job. A running job belongs to
#: its worker until the lease ends.
RETRYABLE = (JobState.QUEUED, JobState.DEAD, JobState.DISCARDED)
DISCARDABLE = (JobState.QUEUED, JobState.DEAD)


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    total: int


class JobService:
    def __init__(
        self, settings: Settings, kinds: Mapping[str, type[Deliverer]], box: SecretBox
    ) -> None:
        self.settings = settings
        self.deliverers = kinds
        self.kinds = frozenset(kinds)
        self.box = box
        #: Set after a transaction that enqueued a job commits, so that a worker in
        #: this process starts at once instead of at its next poll.
        self.wake = threading.Event()

    # -- requests --------------------------------------------------------------------

    @staticmethod
    def count_since(session: Session, definition: str, key_pattern: str, since: datetime) -> int:
        """How many jobs ``definition`` queued since ``since`` whose idempotency key is
        LIKE ``key_pattern`` (flood control)."""
        sent = session.scalar(
            select(func.count(Job.id)).where(
                Job.definition == definition[:255],
                Job.idempotency_key.like(key_pattern),
                Job.created_at >= since,
            )
        )
        return int(sent or 0)

    def enqueue(
        self,
        session: Session,
        *,
        kind: str,
        payload: dict[str, Any],
        secret: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        max_attempts: int | None = None,
        request_id: str = "",
        definition: str = "",
        delay_seconds: float = 0.0,
    ) -> int:
        """Add a job to the caller's unit of work and return its id.

        ``payload`` must be JSON-serialisable; it is what the deliverer of ``kind``
        gets, merged with ``secret``: the values that must not be stored readable
        (a PIN, an enrolment URI), sealed in the job until delivery.
        ``idempotency_key`` (default: a fresh unique one) is handed to the
        receiver on every attempt; enqueueing a key that exists already returns the
        existing job's id and adds nothing, so a retried request does not send twice.
        ``max_attempts`` defaults to ``Settings.job_max_attempts``. Raises
        :class:`UnknownJobKindError` for a kind no deliverer handles.
        """
        if kind not in self.kinds:
            raise UnknownJobKindError(
                f"Unknown job kind {kind!r}; known kinds: {', '.join(sorted(self.kinds))}"
            )
        key = idempotency_key or f"{uuid.uuid4().hex}@{self.settings.node_name or 'factorflow'}"
        if len(key) > MAX_KEY_LENGTH:
            raise ParameterError(f"idempotency_key is longer than {MAX_KEY_LENGTH} characters")
        attempts = max_attempts if max_attempts is not None else self.settings.job_max_attempts
        if not 1 <= attempts <= 100:
            raise ParameterError("max_attempts must be between 1 and 100")
        try:
            size = len(json.dumps(payload)) + len(json.dumps(dict(secret or {})))
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"Job payload is not JSON-serialisable: {exc}") from None
        if size > MAX_PAYLOAD_BYTES:
            raise ParameterError(f"Job payload is larger than {MAX_PAYLOAD_BYTES} bytes")
        now = utcnow()
        job = Job(
            kind=kind,
            payload=sealed_payload(self.box, key, payload, secret or {}),
            recipient=mask(self.deliverers[kind].recipient(payload))[:255],
            idempotency_key=key,
            state=JobState.QUEUED.value,
            attempts=0,
            max_attempts=attempts,
            next_attempt_at=now if delay_seconds <= 0 else now + timedelta(seconds=delay_seconds),
            request_id=request_id[:64],
            definition=definition[:255],
            created_at=now,
            updated_at=now,
        )
        # Insert first, look up on a duplicate: the common case is one statement, and
        # on SQLite a unit of work that starts with a write waits for the lock
        # instead of failing on a stale read snapshot.
        try:
            with session.begin_nested():
                session.add(job)
        except IntegrityError:
            # This key was enqueued before (by this or a committed transaction).
            existing = self._id_for_key(session, key)
            if existing is None:
                raise
            return existing
        self._wake_after_commit(session)
        return job.id

    def _id_for_key(self, session: Session, key: str) -> int | None:
        return session.scalar(select(Job.id).where(Job.idempotency_key == key))

    def _wake_after_commit(self, session: Session) -> None:
        if session.info.get("factorflow.jobs.wake"):
            return
        session.info["factorflow.jobs.wake"] = True
        event.listen(session, "after_commit", lambda _s: self.wake.set(), once=True)

    # -- admins ----------------------------------------------------------------------

    def list(
        self,
        session: Session,
        *,
        state: str = "",
        kind: str = "",
        definition: str = "",
        page: int = 1,
        page_size: int = 15,
    ) -> JobPage:
        """Jobs matching the filters, newest first."""
        if state and state not in {s.value for s in JobState}:
            raise ParameterError(
                f"Invalid parameter 'state': use one of {', '.join(s.value for s in JobState)}"
            )
        query = select(Job)
        if state:
            query = query.where(Job.state == state)
        if kind:
            query = query.where(Job.kind == kind)
        if definition:
            query = query.where(Job.definition == definition)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(
            query.order_by(Job.id.desc()).offset((page - 1) * page_size).limit(page_size)
        ).all()
        return JobPage(list(rows), total)

    def get(self, session: Session, job_id: int) -> Job:
        job = session.get(Job, job_id)
        if job is None:
            raise JobNotFoundError(f"There is no job {job_id}.")
        return job

    def retry(self, session: Session, job_id: int) -> Job:
        """Make a queued, dead or discarded job due now with a fresh attempt budget."""
        now = utcnow()
        self._transition(
            session,
            job_id,
            RETRYABLE,
            "retry",
            state=JobState.QUEUED.value,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            updated_at=now,
        )
        self._wake_after_commit(session)
        return self.get(session, job_id)

    def discard(self, session: Session, job_id: int) -> Job:
        """Give up on a queued or dead job; it stays listed as discarded."""
        now = utcnow()
        self._transition(
            session, job_id, DISCARDABLE, "discard", state=JobState.DISCARDED.value, updated_at=now
        )
        return self.get(session, job_id)

    def _transition(
        self,
        session: Session,
        job_id: int,
        allowed: tuple[JobState, ...],
        verb: str,
        **values: Any,
    ) -> None:
        # A conditional update, so that a worker claiming the job at the same moment
        # and the admin's change cannot both win.
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state.in_([s.value for s in allowed]))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            session.expire_all()
            return
        job = self.get(session, job_id)
        hint = ""
        if job.state == JobState.RUNNING.value and job.lease_until is not None:
            hint = f"; a worker holds it until {job.lease_until.isoformat(timespec='seconds')}"
        raise JobStateError(f"Cannot {verb} job {job_id}: it is {job.state}{hint}")


def describe_job(job: Job, *, attempts: bool = False) -> dict[str, Any]:
    """A job as the API and the CLI show it: its metadata, never its payload; with
    ``attempts``, the attempt log as well."""
    data: dict[str, Any] = {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "recipient": job.recipient,
        "idempotency_key": job.idempotency_key,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "next_attempt_at": _iso(job.next_attempt_at),
        "lease_until": _iso(job.lease_until),
        "leased_by": job.leased_by,
        "last_error": job.last_error,
        "request_id": job.request_id,
        "definition": job.definition,
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "delivered_at": _iso(job.delivered_at),
        "payload_purged_at": _iso(job.purged_at),
    }
    if attempts:
        data["attempt_log"] = [
            {
                "number": a.number,
                "worker": a.worker,
                "started_at": _iso(a.started_at),
                "finished_at": _iso(a.finished_at),
                "outcome": a.outcome,
                "error": a.error,
                "detail": a.detail,
            }
            for a in job.attempt_log
        ]
    return data


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
