"""Web UI settings per principal (privacyIDEA 3.14's ``/user/settings``).

Each logged-in realm user and each local admin has one JSON object of settings the web
UI keeps between sessions (page sizes, column choices, the language). A principal only
ever reaches its own object: the caller's identity, never a parameter, names the row.
Like privacyIDEA (which does not validate the keys yet either), any keys are stored;
the object is bounded in size and depth so that it cannot grow without end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from factorflow.errors import ParameterError
from factorflow.users.models import UserSettings

#: The largest settings object, as stored JSON.
MAX_SETTINGS_BYTES = 64 * 1024
MAX_KEY = 255


@dataclass(frozen=True)
class Principal:
    """Whose settings: ``admin`` (a local admin, no realm) or ``user`` in a realm."""

    subject_type: str
    name: str
    realm: str = ""


def _validated(settings: dict[str, Any]) -> str:
    for key in settings:
        if not key or len(key) > MAX_KEY:
            raise ParameterError(f"Invalid setting name {key[:40]!r}: 1 to {MAX_KEY} characters")
    text = json.dumps(settings, ensure_ascii=False, sort_keys=True)
    if len(text.encode("utf-8")) > MAX_SETTINGS_BYTES:
        raise ParameterError(f"The settings are larger than {MAX_SETTINGS_BYTES} bytes")
    return text


class UserSettingsService:
    def _row(self, session: Session, who: Principal) -> UserSettings | None:
        return session.scalar(
            select(UserSettings).where(
                UserSettings.subject_type == who.subject_type,
                UserSettings.realm == who.realm,
                UserSettings.name == who.name,
            )
        )

    def get(self, session: Session, who: Principal) -> dict[str, Any]:
        row = self._row(session, who)
        stored: dict[str, Any] = json.loads(row.settings) if row is not None else {}
        return stored

    def set(
        self, session: Session, who: Principal, given: dict[str, Any], *, replace: bool
    ) -> dict[str, Any]:
        """Merge ``given`` into the stored settings (or replace them); the result."""
        row = self._row(session, who)
        merged = dict(given) if replace or row is None else {**json.loads(row.settings), **given}
        text = _validated(merged)
        if row is not None:
            row.settings = text
            return merged
        try:
            with session.begin_nested():
                session.add(
                    UserSettings(
                        subject_type=who.subject_type, realm=who.realm, name=who.name,
                        settings=text,
                    )
                )  # fmt: skip
        except IntegrityError:
            # A concurrent first save of the same principal won: merge into it.
            return self.set(session, who, given, replace=replace)
        return merged

    def delete(self, session: Session, who: Principal, key: str | None = None) -> bool:
        """Delete one setting (``key``) or all; whether there was something to delete."""
        row = self._row(session, who)
        if row is None:
            return False
        if key is None:
            session.execute(delete(UserSettings).where(UserSettings.id == row.id))
            return True
        stored = json.loads(row.settings)
        if key not in stored:
            return False
        del stored[key]
        row.settings = _validated(stored)
        return True
