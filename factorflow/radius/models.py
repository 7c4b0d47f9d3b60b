"""Stored RADIUS server configurations, looked up by identifier."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow


class RadiusServer(Base):
    """A RADIUS server that ``radius`` tokens forward their checks to (privacyIDEA's
    ``radiusserver`` table)."""

    __tablename__ = "radius_server"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(120), unique=True)
    #: Host name or IP address.
    server: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=1812)
    #: SecretBox ciphertext of the shared secret, bound to ``radiusserver:<identifier>:secret``.
    secret: Mapped[str] = mapped_column(Text)
    #: A FreeRADIUS-style dictionary file; the built-in one when it does not exist.
    dictionary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    #: Seconds to wait for each answer, and how many times a request is sent.
    timeout: Mapped[int] = mapped_column(Integer, default=5)
    retries: Mapped[int] = mapped_column(Integer, default=3)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
