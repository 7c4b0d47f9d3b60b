from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow


def new_credential_version() -> str:
    return secrets.token_hex(16)


class Admin(Base):
    __tablename__ = "admin"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255), default="")
    #: A random value that every JWT of this admin carries; a new password gives a new
    #: one, so the admin's older JWTs no longer verify (see factorflow.auth.sessions).
    credential_version: Mapped[str] = mapped_column(String(32), default=new_credential_version)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
