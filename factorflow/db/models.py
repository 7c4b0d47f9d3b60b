"""Tables that belong to no single feature: system settings and the config version."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base


class ConfigSetting(Base):
    """Key/value system settings. ``__version__`` is bumped by every configuration
    write so that per-process caches notice changes made by other processes."""

    __tablename__ = "config_setting"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    value: Mapped[str] = mapped_column(Text, default="")
