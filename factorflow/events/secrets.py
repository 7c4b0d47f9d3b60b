"""Secret options of event definitions: sealed at rest, censored in answers.

An option declared :data:`~factorflow.events.handlers.base.Secret` in its action's
model (the WebHook ``secret`` and ``headers``, a plug-in's password) is stored as a
:class:`~factorflow.crypto.SecretBox` ciphertext bound to
``event:<uid>:option:<name>``, in the definition row and in every history snapshot.
It is opened only where the definition is compiled to run (the per-process cache, a
dry run, a scheduled run): the action gets the real value.

Every answer (``GET /event/``, ``GET /event/<id>``, the history, the export) shows
``__CENSORED__`` instead of a set secret, and sending ``__CENSORED__`` back (an update,
an import of a censored export) keeps the stored secret; with nothing stored to keep,
the write is refused naming the option.

Definitions stored before options were sealed keep working (a value that is not a
ciphertext is read as it is) and are sealed once by :meth:`OptionSecrets.seal_stored`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.core.redaction import CENSORED
from factorflow.crypto import SecretBox
from factorflow.errors import ServerError
from factorflow.events.errors import DefinitionError
from factorflow.events.handlers.base import ActionOptions, EventHandler, secret_options
from factorflow.events.models import EventDefinition, EventDefinitionHistory

looks_sealed = SecretBox.is_sealed


def purpose(uid: str, key: str) -> str:
    return f"event:{uid}:option:{key}"


class OptionSecrets:
    """Seals, opens and censors the secret options of definitions."""

    def __init__(self, box: SecretBox, handlers: Mapping[str, EventHandler]) -> None:
        self.box = box
        self.handlers = handlers

    def _model(self, module: str, action: str) -> type[ActionOptions] | None:
        handler = self.handlers.get(module)
        canonical = handler.canonical_action(action) if handler is not None else None
        return handler.actions[canonical] if handler is not None and canonical else None

    def secret_keys(self, module: str, action: str) -> frozenset[str]:
        """The canonical names of the action's secret options (none if unknown)."""
        model = self._model(module, action)
        return secret_options(model) if model is not None else frozenset()

    # -- at rest ---------------------------------------------------------------------------

    def seal(
        self,
        module: str,
        action: str,
        uid: str,
        options: Mapping[str, str],
        previous: Mapping[str, Any] | None = None,
    ) -> dict[str, str]:
        """``options`` (canonical names, plaintext) as stored: each set secret sealed.
        A secret equal to its ``previous`` stored value keeps that ciphertext, so a
        write that changes nothing stores nothing new."""
        out = dict(options)
        for key in self.secret_keys(module, action):
            value = options.get(key)
            if not value:
                continue
            old = (previous or {}).get(key)
            if (
                isinstance(old, str)
                and looks_sealed(old)
                and self._open_value(uid, key, old) == value
            ):
                out[key] = old
            else:
                out[key] = self.box.encrypt_text(value, purpose(uid, key))
        return out

    def open(
        self, uid: str, module: str, action: str, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Stored options with their sealed values decrypted (plaintext left as is).
        A secret that cannot be decrypted (another encryption key) is a
        :class:`DefinitionError`: the definition cannot run."""
        keys = self.secret_keys(module, action)
        out = dict(options)
        for key, value in options.items():
            if not isinstance(value, str) or not looks_sealed(value):
                continue
            opened = self._open_value(uid, key, value)
            if opened is not None:
                out[key] = opened
            elif key in keys:
                raise DefinitionError(
                    f"The secret option {key!r} cannot be decrypted with this server's key"
                )
        return out

    def open_row(self, row: EventDefinition) -> dict[str, Any]:
        return self.open(row.uid, row.handlermodule, row.action, row.options or {})

    def open_snapshot(self, snapshot: Mapping[str, Any]) -> dict[str, Any]:
        return self.open(
            str(snapshot.get("uid") or ""),
            str(snapshot.get("handlermodule") or ""),
            str(snapshot.get("action") or ""),
            snapshot.get("options") or {},
        )

    def _open_value(self, uid: str, key: str, value: str) -> str | None:
        try:
            return self.box.decrypt_text(value, purpose(uid, key))
        except (ServerError, ValueError):
            return None

    # -- in answers ------------------------------------------------------------------------

    def censor(self, serialized: Mapping[str, Any]) -> dict[str, Any]:
        """A serialized definition (or snapshot) with every set secret ``__CENSORED__``:
        the options its action declares secret, and any other sealed value."""
        keys = self.secret_keys(
            str(serialized.get("handlermodule") or ""), str(serialized.get("action") or "")
        )
        options = {
            key: CENSORED if value and (key in keys or looks_sealed(value)) else value
            for key, value in (serialized.get("options") or {}).items()
        }
        return {**serialized, "options": options}

    def keep_censored(
        self,
        module: str,
        action: str,
        options: Mapping[str, Any],
        stored: Mapping[str, Any],
        missing: str,
    ) -> dict[str, Any]:
        """``options`` as sent, each secret sent as ``__CENSORED__`` replaced by its
        ``stored`` plaintext. Refuses (naming the option) a placeholder with nothing
        stored behind it; ``missing`` says why there is none."""
        model = self._model(module, action)
        if model is None:
            return dict(options)
        names: dict[str, str] = {}
        for name, info in model.model_fields.items():
            canonical = info.alias or name
            if canonical in secret_options(model):
                names[name] = names[canonical] = canonical
        out = dict(options)
        for key, value in options.items():
            found = names.get(str(key))
            if found is None or value != CENSORED:
                continue
            canonical = found
            if not stored.get(canonical):
                raise DefinitionError(
                    f"Invalid option {key!r}: {CENSORED} stands for the stored secret, "
                    f"but {missing}; send the secret itself"
                )
            out[key] = stored[canonical]
        return out

    # -- definitions stored before secrets were sealed ----------------------------------------

    def seal_stored(self, session: Session) -> int:
        """Seal the plaintext secrets of stored definitions and history snapshots;
        returns how many rows changed. Idempotent."""
        changed = 0
        for row in session.scalars(select(EventDefinition)):
            sealed = self._seal_plain(row.uid, row.handlermodule, row.action, row.options or {})
            if sealed != (row.options or {}):
                row.options = sealed
                changed += 1
        for entry in session.scalars(select(EventDefinitionHistory)):
            snap = entry.snapshot or {}
            options = snap.get("options") or {}
            sealed = self._seal_plain(
                str(snap.get("uid") or ""),
                str(snap.get("handlermodule") or ""),
                str(snap.get("action") or ""),
                options,
            )
            if sealed != options:
                entry.snapshot = {**snap, "options": sealed}
                changed += 1
        session.flush()
        return changed

    def _seal_plain(
        self, uid: str, module: str, action: str, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        out = dict(options)
        for key in self.secret_keys(module, action):
            value = options.get(key)
            if isinstance(value, str) and value and not looks_sealed(value):
                out[key] = self.box.encrypt_text(value, purpose(uid, key))
        return out
