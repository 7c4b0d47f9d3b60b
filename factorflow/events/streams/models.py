"""Stored event streams, looked up by identifier."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow


class EventStream(Base):
    """A named stream: where events go (``kind`` and its ``options``) and which ones
    (``events`` and the filter ``conditions``, as a definition's)."""

    __tablename__ = "event_stream"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(120), unique=True)
    #: The broker kind: ``nats``, ``amqp``, ``redis`` or ``mqtt``.
    kind: Mapped[str] = mapped_column(String(20))
    #: The broker options; secret ones are SecretBox ciphertexts bound to
    #: ``eventstream:<identifier>:<option>``.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Event names to publish; empty: every event.
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The filter: conditions as a definition's (name -> value); empty: no filter.
    conditions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    condition_expression: Mapped[str] = mapped_column(Text, default="")
    unknown_is_match: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


__all__ = ["EventStream"]
