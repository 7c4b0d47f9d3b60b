"""Tables of the durable job queue.

A :class:`Job` is written in the same transaction as the request that caused it, so
it exists exactly when the request's own changes do. Workers claim due jobs with a
lease (``lease_until`` plus a fencing ``lease_token``); every delivery attempt leaves
a :class:`JobAttempt` row, so an admin sees what happened and when.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from factorflow.db.base import Base, UtcDateTime, utcnow


class JobState(StrEnum):
    QUEUED = "queued"  # waiting for its next attempt (next_attempt_at)
    RUNNING = "running"  # leased by a worker until lease_until
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up: max attempts reached or a permanent failure
    DISCARDED = "discarded"  # an admin gave up on it


class AttemptOutcome(StrEnum):
    RUNNING = "running"
    DELIVERED = "delivered"
    FAILED = "failed"
    #: The worker's lease ran out before it reported back (it died or hung).
    LEASE_EXPIRED = "lease_expired"


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    #: What the deliverer gets; secret values only inside its sealed part
    #: (:mod:`factorflow.jobs.payload`). Emptied once delivered and past retention.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Whom the job goes to, masked (``al***@example.com``); kept after the purge.
    recipient: Mapped[str] = mapped_column(String(255), default="")
    #: Unique per job and handed to the receiver (Message-ID, Idempotency-Key header)
    #: so that a redelivery after a lost acknowledgement can be recognised.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED.value)
    #: Attempts in the current budget; a manual retry starts a fresh budget.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    leased_by: Mapped[str] = mapped_column(String(255), default="")
    #: Changes with every claim; a worker whose lease was taken over cannot report.
    lease_token: Mapped[str] = mapped_column(String(32), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: The request (audit request_id) and event definition that created the job, if any.
    request_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    definition: Mapped[str] = mapped_column(String(255), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: When the payload of the delivered job was purged (None: not yet).
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    attempt_log: Mapped[list[JobAttempt]] = relationship(
        back_populates="job",
        order_by="JobAttempt.number",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class JobAttempt(Base):
    __tablename__ = "job_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), index=True)
    #: 1, 2, ... over the job's whole life (manual retries keep counting).
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(255), default="")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), default=AttemptOutcome.RUNNING.value)
    error: Mapped[str] = mapped_column(Text, default="")
    #: What the receiver said on success (e.g. the SMTP server's reply).
    detail: Mapped[str] = mapped_column(Text, default="")

    job: Mapped[Job] = relationship(back_populates="attempt_log")
