"""privacyIDEA's system settings (``/system/``) over the ``config_setting`` table.

Values are strings, as privacyIDEA keeps them. ``GET /system/`` shows the settings
Factorflow has that are in force: stored ones, read-only ones and those with a
default; ``__timestamp__`` is the time of the last change made here (or, before the
first, of this process's start), as privacyIDEA stamps its configuration.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from factorflow.crypto import SecretBox, setting_purpose
from factorflow.db.models import ConfigSetting
from factorflow.db.versions import put_setting
from factorflow.errors import ParameterError
from factorflow.notify.models import SmsGateway, SmtpServer
from factorflow.settings import Settings
from factorflow.system.catalog import KEYS, TIMESTAMP_KEY, Kind, SystemKey, supported_key

#: Request parameters of setConfig that describe a value rather than set one.
_META_SUFFIXES = (".type", ".desc")
_CONFIGURATIONS: dict[str, type[SmtpServer] | type[SmsGateway]] = {
    "email.identifier": SmtpServer,
    "sms.identifier": SmsGateway,
}

Change = Literal["insert", "update"]
#: What ``GET /system/`` shows of a secret setting.
HIDDEN = "__CRYPTED__"


class SystemConfigService:
    def __init__(self, settings: Settings, box: SecretBox | None = None) -> None:
        self._settings = settings
        self._box = box
        self._started = f"{time.time():.6f}"

    def _stored(self, session: Session) -> dict[str, str]:
        rows = session.execute(
            select(ConfigSetting.key, ConfigSetting.value).where(
                ConfigSetting.key.in_([*KEYS, TIMESTAMP_KEY])
            )
        )
        return {str(key): str(value) for key, value in rows}

    def effective(self, session: Session) -> dict[str, str]:
        """Every setting in force, as ``GET /system/`` answers (sorted by name)."""
        stored = self._stored(session)
        found = {TIMESTAMP_KEY: stored.get(TIMESTAMP_KEY, self._started)}
        for name, key in KEYS.items():
            value = self._value(key, stored)
            if value is not None:
                found[name] = value
        return dict(sorted(found.items()))

    def get(self, session: Session, name: str) -> str | None:
        """One setting's value in force; None if Factorflow has no such setting or it
        is not set (privacyIDEA answers null for an unknown key)."""
        return self.effective(session).get(name)

    def _value(self, key: SystemKey, stored: Mapping[str, str]) -> str | None:
        if key.fixed is not None:
            return key.fixed(self._settings)
        if key.kind is Kind.SECRET and key.name in stored:
            return HIDDEN
        return stored.get(key.name, key.default)

    def set_many(self, session: Session, params: Mapping[str, object]) -> dict[str, Change]:
        """Store ``key=value`` pairs (``<key>.type`` / ``.desc`` are ignored); every key
        is checked before anything is written. Returns insert/update per key."""
        pairs = {k: v for k, v in params.items() if not k.endswith(_META_SUFFIXES)}
        if not pairs:
            raise ParameterError("Missing parameter: a setting, e.g. IncFailCountOnFalsePin=True")
        checked = {name: self._checked(session, name, raw) for name, raw in pairs.items()}
        stored = self._stored(session)
        changes: dict[str, Change] = {}
        for name, value in checked.items():
            key = KEYS[name]
            if key.fixed is not None:  # the value in force: nothing to store
                changes[name] = "update"
                continue
            changes[name] = "update" if name in stored else "insert"
            stored_value = value
            if key.kind is Kind.SECRET:
                assert self._box is not None  # _checked refused it otherwise
                stored_value = self._box.encrypt_text(value, setting_purpose(name))
            put_setting(session, name, stored_value)
        self._stamp(session)
        return changes

    def _checked(self, session: Session, name: str, raw: object) -> str:
        key = supported_key(name)
        value = key.normalise(raw)
        if key.fixed is not None and value != key.fixed(self._settings):
            raise ParameterError(
                f"{name!r} is {key.fixed(self._settings)} in Factorflow and set by {key.set_by}"
            )
        if key.kind is Kind.SECRET and self._box is None:
            raise ParameterError(f"{name!r} cannot be stored: no encryption key")
        if key.kind is Kind.NAME:
            model = _CONFIGURATIONS[name]
            if session.scalar(select(model.id).where(model.identifier == value)) is None:
                raise ParameterError(f"Invalid value for {name!r}: no configuration {value!r}")
        return value

    def delete(self, session: Session, name: str) -> bool:
        """Remove a stored setting (its default applies again); False if none was
        stored, including keys Factorflow does not have."""
        key = KEYS.get(name)
        if key is not None and key.fixed is not None:
            raise ParameterError(f"{name!r} cannot be deleted: it is set by {key.set_by}")
        if key is None:
            return False
        result = session.execute(delete(ConfigSetting).where(ConfigSetting.key == name))
        removed = bool(result.rowcount)  # type: ignore[attr-defined]
        if removed:
            self._stamp(session)
        return removed

    @staticmethod
    def _stamp(session: Session) -> None:
        put_setting(session, TIMESTAMP_KEY, f"{time.time():.6f}")
