"""Named configurations: rows of one kind looked up by a unique name — SMTP servers,
SMS gateways, remote privacyIDEA servers, resolvers — and the secrets they keep.

:class:`NamedConfigs` is the repository every kind shares: find, get (its own
not-found error), list all or one, the names, save (create or update) and delete.
:class:`SealedValues` keeps a kind's secret values: sealed with the
:class:`~factorflow.crypto.SecretBox` and bound to ``<kind>:<name>:<part>...`` (a
ciphertext copied into another configuration fails to open), answered as
``__CENSORED__``, and a ``__CENSORED__`` sent back on an update stands for the stored
value (:meth:`SealedValues.kept`).

What differs between the kinds — the options model, the answer's shape, what a
deletion must check first — stays with each kind's service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from factorflow.core.redaction import CENSORED
from factorflow.crypto import SecretBox
from factorflow.db.base import Base, utcnow
from factorflow.errors import FactorflowError

__all__ = ["NamedConfigs", "SealedValues"]

R = TypeVar("R", bound=Base)


class NamedConfigs(Generic[R]):
    """The stored configurations of one kind (``model``), by the unique ``column``.
    ``missing(name)`` is the error :meth:`get` raises for an unknown name."""

    def __init__(
        self,
        model: type[R],
        missing: Callable[[str], FactorflowError],
        *,
        column: str = "identifier",
    ) -> None:
        self.model = model
        self.column_name = column
        self._column: InstrumentedAttribute[str] = getattr(model, column)
        self._missing = missing

    def find(self, session: Session, name: str) -> R | None:
        return session.scalar(select(self.model).where(self._column == name))

    def get(self, session: Session, name: str) -> R:
        row = self.find(session, name)
        if row is None:
            raise self._missing(name)
        return row

    def all(self, session: Session) -> list[R]:
        return list(session.scalars(select(self.model).order_by(self._column)))

    def selected(self, session: Session, name: str = "") -> list[R]:
        """The configuration ``name`` (refused if unknown), or all of them for ``""``."""
        return [self.get(session, name)] if name else self.all(session)

    def names(self, session: Session) -> list[str]:
        return list(session.scalars(select(self._column).order_by(self._column)))

    def save(
        self, session: Session, name: str, values: Mapping[str, Any], *, row: R | None = None
    ) -> R:
        """Set ``values`` on the configuration ``name`` (``row`` if the caller holds it),
        creating it first if there is none; ``created_at`` / ``updated_at`` are kept
        where the table has them."""
        if row is None:
            row = self.find(session, name)
        if row is None:
            row = self.model(**{self.column_name: name})
            if hasattr(row, "created_at"):
                row.created_at = utcnow()
            session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        if hasattr(row, "updated_at"):
            row.updated_at = utcnow()
        session.flush()
        return row

    def remove(self, session: Session, row: R) -> None:
        session.delete(row)
        session.flush()

    def delete(self, session: Session, name: str) -> None:
        self.remove(session, self.get(session, name))


class SealedValues:
    """The secret values of one ``kind`` of configuration (``smtpserver``,
    ``smsgateway``, ``resolver``)."""

    def __init__(self, box: SecretBox, kind: str) -> None:
        self.box = box
        self.kind = kind

    def purpose(self, name: str, *parts: str) -> str:
        return ":".join((self.kind, name, *parts))

    def seal(self, plain: str, name: str, *parts: str, keep_empty: bool = True) -> str:
        """``plain`` sealed for ``name`` / ``parts``; with ``keep_empty`` an empty
        value stays ``""`` (no secret), otherwise it is sealed like any other."""
        if keep_empty and not plain:
            return ""
        return self.box.encrypt_text(plain, self.purpose(name, *parts))

    def open(self, stored: str, name: str, *parts: str, plain_ok: bool = False) -> str:
        """The plaintext of a sealed value (``""`` for none). With ``plain_ok`` a value
        stored before such values were sealed is returned as it is."""
        if not stored:
            return ""
        if plain_ok and not SecretBox.is_sealed(stored):
            return stored
        return self.box.decrypt_text(stored, self.purpose(name, *parts))

    @staticmethod
    def censored(stored: str) -> str:
        """What an answer shows for a stored secret: ``__CENSORED__``, ``""`` for none."""
        return CENSORED if stored else ""

    @staticmethod
    def kept(sent: str, stored: str | None, refuse: Callable[[], FactorflowError]) -> str:
        """The value to keep: ``sent``, or for ``__CENSORED__`` the ``stored`` one
        (``refuse()`` is raised when nothing is stored)."""
        if sent != CENSORED:
            return sent
        if stored is None:
            raise refuse()
        return stored
