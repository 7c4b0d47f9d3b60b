"""The policy table.

``action`` is a JSON object action → value (boolean actions are stored as ``true``);
the condition lists (realm, resolver, user, adminrealm, adminuser, client) are JSON
lists of strings exactly as validated on save; ``conditions`` is a JSON list of
``{section, key, comparator, value, active, handle_missing_data}`` objects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from factorflow.db.base import Base, UtcDateTime, utcnow


class Policy(Base):
    __tablename__ = "policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(32), index=True)
    action: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Lower wins, as in privacyIDEA (default 1).
    priority: Mapped[int] = mapped_column(Integer, default=1)
    realm: Mapped[list[str]] = mapped_column(JSON, default=list)
    resolver: Mapped[list[str]] = mapped_column(JSON, default=list)
    user: Mapped[list[str]] = mapped_column(JSON, default=list)
    adminrealm: Mapped[list[str]] = mapped_column(JSON, default=list)
    adminuser: Mapped[list[str]] = mapped_column(JSON, default=list)
    client: Mapped[list[str]] = mapped_column(JSON, default=list)
    time: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
