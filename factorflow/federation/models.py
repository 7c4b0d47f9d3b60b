"""Stored configurations of remote privacyIDEA-compatible servers, by identifier."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow


class RemoteServer(Base):
    """A server that speaks privacyIDEA's API (another Factorflow or a privacyIDEA),
    the target of the Federation handler's ``forward`` action."""

    __tablename__ = "privacyidea_server"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(120), unique=True)
    #: Base URL, e.g. ``https://mfa.example.org``; request paths are appended to it.
    url: Mapped[str] = mapped_column(Text)
    #: Verify the server's TLS certificate against the system CAs.
    tls: Mapped[bool] = mapped_column(Boolean, default=True)
    timeout: Mapped[float] = mapped_column(Float, default=10.0)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
