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
    put_setting(session, key, marker)
    return marker


def put_setting(session: Session, key: str, value: str) -> None:
    """Store ``value`` under ``key`` in the caller's transaction, whether or not the
    key exists yet, also when another transaction creates it at the same time."""
    stmt = update(ConfigSetting).where(ConfigSetting.key == key).values(value=value)
    if session.execute(stmt.execution_options(synchronize_session=False)).rowcount:  # type: ignore[attr-defined]
        return
    try:
        with session.begin_nested():
            session.add(ConfigSetting(key=key, value=value))
    except IntegrityError:
        session.execute(stmt)
