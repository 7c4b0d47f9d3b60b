"""The nodes table (see :mod:`factorflow.system.nodes`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow


class NodeName(Base):
    """One node (privacyIDEA's ``nodename``): its UUID, name and when it was last seen."""

    __tablename__ = "nodename"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    lastseen: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
