"""The authentication cache of the ``auth_cache`` policy.

One row per successful password+OTP authentication that the policy asked to remember:
the user, and an argon2 hash of the whole value that was sent (never the value itself).
A later ``/validate/check`` with the same value inside the policy's time window (and,
optionally, at most N times) succeeds without using a new OTP.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow


class AuthCacheEntry(Base):
    __tablename__ = "auth_cache"
    __table_args__ = (Index("ix_auth_cache_user", "username", "realm"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120))
    realm: Mapped[str] = mapped_column(String(120), default="")
    resolver: Mapped[str] = mapped_column(String(120), default="")
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    #: argon2id hash of the value sent as ``pass``.
    authentication: Mapped[str] = mapped_column(String(255))
    first_auth: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_auth: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    auth_count: Mapped[int] = mapped_column(Integer, default=0)
