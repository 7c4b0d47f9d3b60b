"""The worker side of the job queue: claim a due job under a lease, report the outcome.

Claiming is safe with any number of workers in any number of processes:

* PostgreSQL and MariaDB (10.6+): ``SELECT ... FOR UPDATE SKIP LOCKED`` picks a due
  row no other transaction holds, then the row is updated to ``running`` in the
  same transaction.
* SQLite: one conditional ``UPDATE ... WHERE id = (SELECT ...) AND <still due>``;
  SQLite runs writers one at a time, and a statement that starts as a write never
  sees a stale snapshot.

A claim sets ``lease_until`` and a fresh ``lease_token``. A job is due when it is
queued and its ``next_attempt_at`` has passed, or when it is running and its lease
has run out (the worker died, e.g. SIGKILL mid-delivery): delivery is at least once.
Reports (:meth:`JobQueue.delivered`, :meth:`JobQueue.failed`) only apply while the
lease token still matches, so a worker that lost its lease cannot overwrite the
outcome of the worker that took over.

A delivered job keeps its payload for ``Settings.job_payload_retention_seconds``, then
:meth:`JobQueue.purge_delivered` empties it (0: on delivery); queued, dead and
discarded jobs keep theirs, so they can still be retried.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from factorflow.db.base import is_retryable_conflict, transaction, utcnow
from factorflow.jobs.base import JobView
from factorflow.jobs.models import AttemptOutcome, Job, JobAttempt, JobState
from factorflow.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Stored error texts are cut to this length; the attempt log keeps each one.
MAX_ERROR_CHARS = 2000
_CONFLICT_RETRIES = 10


@dataclass(frozen=True)
class Claim:
    """A job leased to one worker; ``lease_token`` fences its reports."""

    job: JobView
    lease_token: str
    attempt_number: int


def truncate(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Delay before the next attempt after ``attempts`` failures: ``base * 2**(n-1)``
    capped at ``cap``, with "equal jitter" (half fixed, half random) so that jobs
    that failed together do not all retry at the same instant."""
    delay = min(cap, base * (2.0 ** max(0, attempts - 1)))
    return delay / 2 + random.uniform(0, delay / 2)


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Job.state == JobState.QUEUED.value, Job.next_attempt_at <= now),
        and_(
            Job.state == JobState.RUNNING.value,
            Job.lease_until <= now,
            Job.attempts < Job.max_attempts,
        ),
    )


class JobQueue:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    def _run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in its own transaction, retrying it whole on a write conflict."""
        for attempt in range(_CONFLICT_RETRIES):
            try:
                with transaction(self.sessions) as session:
                    return work(session)
            except OperationalError as exc:
                if not is_retryable_conflict(exc) or attempt == _CONFLICT_RETRIES - 1:
                    raise
                time.sleep(0.01 * (attempt + 1) + random.uniform(0, 0.01))
        raise AssertionError("unreachable")

    # -- claiming --------------------------------------------------------------------

    def claim(self, worker: str) -> Claim | None:
        """Lease one due job to ``worker`` (oldest due first), or None if none is due."""
        return self._run(lambda session: self._claim(session, worker))

    def _claim(self, session: Session, worker: str) -> Claim | None:
        now = utcnow()
        token = uuid.uuid4().hex
        lease_until = now + timedelta(seconds=self.settings.job_lease_seconds)
        claimed = dict(
            state=JobState.RUNNING.value,
            lease_until=lease_until,
            leased_by=worker[:255],
            lease_token=token,
            attempts=Job.attempts + 1,
            updated_at=now,
        )
        oldest_due = select(Job.id).where(_due(now)).order_by(Job.next_attempt_at, Job.id).limit(1)
        if session.get_bind().dialect.name in ("postgresql", "mysql"):
            job_id = session.scalar(oldest_due.with_for_update(skip_locked=True))
            if job_id is None:
                self._bury_exhausted(session, now)
                return None
            session.execute(update(Job).where(Job.id == job_id).values(**claimed))
        else:
            # One statement that starts as a write: SQLite serialises writers, and the
            # repeated due-check makes the update conditional (MySQL would refuse a
            # subquery on the updated table, hence this branch is SQLite only).
            result = session.execute(
                update(Job)
                .where(Job.id == oldest_due.scalar_subquery(), _due(now))
                .values(**claimed)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                self._bury_exhausted(session, now)
                return None
            job_id = session.scalar(select(Job.id).where(Job.lease_token == token))
            if job_id is None:
                return None
        return self._start_attempt(session, job_id, token, worker, now)

    def _bury_exhausted(self, session: Session, now: datetime) -> None:
        """When nothing is due: a job whose lease ran out after its last allowed
        attempt goes dead rather than being tried again (its worker died or hung
        every time). One conditional update, marked with a token to find the rows."""
        token = "dead-" + uuid.uuid4().hex[:27]
        buried = session.execute(
            update(Job)
            .where(
                Job.state == JobState.RUNNING.value,
                Job.lease_until <= now,
                Job.attempts >= Job.max_attempts,
            )
            .values(
                state=JobState.DEAD.value,
                lease_until=None,
                lease_token=token,
                last_error="The lease ran out on the last allowed attempt "
                "(the worker died or hung).",
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if buried.rowcount:  # type: ignore[attr-defined]
            for job_id in session.scalars(select(Job.id).where(Job.lease_token == token)):
                self._close_running_attempts(session, job_id, now)

    def _close_running_attempts(self, session: Session, job_id: int, now: datetime) -> None:
        session.execute(
            update(JobAttempt)
            .where(
                JobAttempt.job_id == job_id,
                JobAttempt.outcome == AttemptOutcome.RUNNING.value,
            )
            .values(
                outcome=AttemptOutcome.LEASE_EXPIRED.value,
                finished_at=now,
                error="The worker did not report back before its lease ran out.",
            )
            .execution_options(synchronize_session=False)
        )

    def _start_attempt(
        self, session: Session, job_id: int, token: str, worker: str, now: datetime
    ) -> Claim:
        self._close_running_attempts(session, job_id, now)
        number = (
            session.scalar(
                select(func.coalesce(func.max(JobAttempt.number), 0)).where(
                    JobAttempt.job_id == job_id
                )
            )
            or 0
        ) + 1
        session.add(JobAttempt(job_id=job_id, number=number, worker=worker[:255], started_at=now))
        row = session.execute(
            select(
                Job.kind,
                Job.payload,
                Job.idempotency_key,
                Job.attempts,
                Job.max_attempts,
                Job.request_id,
                Job.definition,
            ).where(Job.id == job_id)
        ).one()
        view = JobView(
            id=job_id,
            kind=row.kind,
            payload=dict(row.payload or {}),
            idempotency_key=row.idempotency_key,
            attempt=row.attempts,
            max_attempts=row.max_attempts,
            request_id=row.request_id,
            definition=row.definition,
        )
        return Claim(view, token, number)

    # -- reporting -------------------------------------------------------------------

    def delivered(self, claim: Claim, detail: str = "") -> bool:
        """Record a successful delivery; False if the lease had been taken over."""

        def work(session: Session) -> bool:
            now = utcnow()
            self._finish_attempt(session, claim, AttemptOutcome.DELIVERED, now, detail=detail)
            purge = {"payload": {}, "purged_at": now}
            result = session.execute(
                update(Job)
                .where(*self._fence(claim))
                .values(
                    state=JobState.DELIVERED.value,
                    delivered_at=now,
                    lease_until=None,
                    last_error="",
                    updated_at=now,
                    **(purge if self.settings.job_payload_retention_seconds == 0 else {}),
                )
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

        kept = self._run(work)
        if not kept:
            log.warning("job %s was delivered after its lease was taken over", claim.job.id)
        return kept

    def failed(self, claim: Claim, error: str, *, permanent: bool = False) -> JobState | None:
        """Record a failed attempt: queue the job again after a backoff, or move it to
        the dead-letter state when it is ``permanent`` or out of attempts. Returns the
        new state, or None if the lease had been taken over."""

        def work(session: Session) -> JobState | None:
            now = utcnow()
            message = truncate(error)
            self._finish_attempt(session, claim, AttemptOutcome.FAILED, now, error=message)
            job = claim.job
            if permanent or job.attempt >= job.max_attempts:
                state, next_at = JobState.DEAD, now
            else:
                delay = backoff_seconds(
                    job.attempt,
                    self.settings.job_backoff_base_seconds,
                    self.settings.job_backoff_max_seconds,
                )
                state, next_at = JobState.QUEUED, now + timedelta(seconds=delay)
            result = session.execute(
                update(Job)
                .where(*self._fence(claim))
                .values(
                    state=state.value,
                    next_attempt_at=next_at,
                    lease_until=None,
                    last_error=message,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            return state if result.rowcount == 1 else None  # type: ignore[attr-defined]

        return self._run(work)

    def purge_delivered(self) -> int:
        """Empty the payloads of jobs delivered longer than the retention ago; returns
        how many. One conditional UPDATE: several workers may run it at once."""
        now = utcnow()
        cutoff = now - timedelta(seconds=self.settings.job_payload_retention_seconds)

        def work(session: Session) -> int:
            result = session.execute(
                update(Job)
                .where(
                    Job.state == JobState.DELIVERED.value,
                    Job.purged_at.is_(None),
                    Job.delivered_at <= cutoff,
                )
                .values(payload={}, purged_at=now)
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

        return self._run(work)

    @staticmethod
    def _fence(claim: Claim) -> tuple[ColumnElement[bool], ...]:
        return (
            Job.id == claim.job.id,
            Job.lease_token == claim.lease_token,
            Job.state == JobState.RUNNING.value,
        )

    def _finish_attempt(
        self,
        session: Session,
        claim: Claim,
        outcome: AttemptOutcome,
        now: datetime,
        *,
        error: str = "",
        detail: str = "",
    ) -> None:
        session.execute(
            update(JobAttempt)
            .where(JobAttempt.job_id == claim.job.id, JobAttempt.number == claim.attempt_number)
            .values(outcome=outcome.value, finished_at=now, error=error, detail=truncate(detail))
            .execution_options(synchronize_session=False)
        )
