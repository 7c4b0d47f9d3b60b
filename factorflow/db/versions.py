"""Configuration version markers: how per-process caches notice changes made by
other processes. A writer bumps its key in the same transaction as its change; a
cache compares the stored marker with the one it loaded."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from factorflow.db.models import ConfigSetting


def read_version(session: Session, key: str) -> str:
    return session.scalar(select(ConfigSetting.value).where(ConfigSetting.key == key)) or ""


def bump_version(session: Session, key: str) -> str:
    """Write a fresh marker under ``key`` in the caller's transaction and return it."""
    marker = uuid.uuid4().hex
    stmt = update(ConfigSetting).where(ConfigSetting.key == key).values(value=marker)
    if session.execute(stmt.execution_options(synchronize_session=False)).rowcount:  # type: ignore[attr-defined]
        return marker
    try:
        with session.begin_nested():
            session.add(ConfigSetting(key=key, value=marker))
    except IntegrityError:
        session.execute(stmt)
    return marker
