"""Tables that belong to no single feature: system settings and the config version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow


class ConfigSetting(Base):
    """Key/value system settings. ``__version__`` is bumped by every configuration
    write so that per-process caches notice changes made by other processes."""

    __tablename__ = "config_setting"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    value: Mapped[str] = mapped_column(Text, default="")


class ImportedItem(Base):
    """What ``factorflow migrate`` imported: one row per item of a source server (by
    kind and its serial or name) with a digest of its source state, so that another
    run imports only what changed there since."""

    __tablename__ = "imported_item"
    __table_args__ = (UniqueConstraint("source", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
