"""Tables of login sessions and login throttling.

* :class:`RevokedSession` — JWTs ended before their expiry (logout). A row lives until
  the JWT would have expired anyway; expired rows are purged by the next logout.
* :class:`LoginThrottleEntry` — failed ``POST /auth`` logins counted per account and per
  client address, and the backoff or lockout they caused. Every node of a cluster
  reads and writes the same rows (see :mod:`factorflow.auth.throttle`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow

#: Length of a session id (the JWT's ``jti``: 16 random bytes, hex).
SESSION_ID_LENGTH = 32
#: Longest throttle subject: a login name (320) + "@" + a realm name (120).
SUBJECT_LENGTH = 450


class RevokedSession(Base):
    __tablename__ = "revoked_session"

    session_id: Mapped[str] = mapped_column(String(SESSION_ID_LENGTH), primary_key=True)
    #: When the JWT expires; afterwards the row is no longer needed.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class LoginThrottleEntry(Base):
    __tablename__ = "login_throttle"
    __table_args__ = (
        UniqueConstraint("scope", "subject", name="uq_login_throttle_scope_subject"),
        Index("ix_login_throttle_blocked_until", "blocked_until"),
        Index("ix_login_throttle_last_failure", "last_failure"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``account`` (a login name, ``user@realm`` for realm users) or ``client`` (an
    #: IPv4 address or an IPv6 /64 network).
    scope: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(SUBJECT_LENGTH))
    #: Failed logins in the current window.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_failure: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: Logins are refused without a password check until then (None: not blocked).
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Whether ``blocked_until`` ends a lockout (True) or a backoff (False).
    lockout: Mapped[bool] = mapped_column(Boolean, default=False)
