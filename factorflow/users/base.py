"""The user-store plug-in API: subclass :class:`UserStore`, declare an options model,
and register the class under the ``factorflow.user_stores`` entry-point group.

A store answers by *user id* (stable, store-specific: a uid number, a primary key,
an entryUUID) and by *login name*. Attributes use privacyIDEA's names: ``username``,
``givenname``, ``surname``, ``email``, ``mobile``, ``phone``, ``description``.

Contract for implementations:

* Methods are called from many threads at once; a store guards its own state.
* A backend that cannot be reached raises
  :class:`~factorflow.users.errors.StoreUnavailableError`, never "not found".
* ``search`` filters are attribute name → pattern; ``*`` is the only wildcard
  (matched case-insensitively), a pattern without ``*`` must match exactly, and a
  filter on an attribute the store does not have matches nobody (``*`` excepted).
  ``userid`` may be used as a filter name as well.
* Options are a pydantic model whose *aliases* are privacyIDEA's option names
  (``fileName``, ``Table``, ...); :meth:`verify_config` does cheap checks on write.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from factorflow.core.describe import describe_options
from factorflow.core.describe import secret_options as declared_secrets
from factorflow.crypto import Hasher
from factorflow.users.errors import StoreNotEditableError

STANDARD_ATTRIBUTES = (
    "username",
    "givenname",
    "surname",
    "email",
    "mobile",
    "phone",
    "description",
)


class StoreOptions(BaseModel):
    """Base of every store's options model; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


@dataclass(frozen=True)
class UserRecord:
    """One user as a store sees it."""

    uid: str
    login: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreTestResult:
    ok: bool
    message: str
    user_count: int | None = None


class UserStore(ABC):
    #: privacyIDEA's resolver type name, e.g. ``passwdresolver``.
    type_name: ClassVar[str]
    #: One line about the store, for ``GET /resolver/types/`` and the web UI.
    description: ClassVar[str] = ""
    Options: ClassVar[type[StoreOptions]]
    #: Option names whose values are encrypted at rest and censored on read, besides
    #: the options the model types :data:`~factorflow.core.describe.Secret`.
    secret_options: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def secret_names(cls) -> frozenset[str]:
        """Every option of this store that is a credential."""
        return cls.secret_options | declared_secrets(cls.Options)

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """``GET /resolver/types/``: the store's description and option descriptors
        (every option of :attr:`Options`, secrets marked)."""
        options = describe_options(cls.Options)
        for name in cls.secret_names() & options.keys():
            options[name]["secret"] = True
        return {"description": cls.description or cls.type_name, "options": options}

    def __init__(self, name: str, options: StoreOptions, *, hasher: Hasher | None = None) -> None:
        self.name = name
        self.options = options
        #: Hashes new passwords of editable stores (argon2id with the server's cost).
        self.hasher = hasher or Hasher(time_cost=2, memory_kib=19456, parallelism=1)

    def verify_config(self) -> None:
        """Cheap checks when the configuration is written (a file exists, a URL
        parses); raise ParameterError naming the option. No network access."""
        return None

    @property
    def editable(self) -> bool:
        return False

    @abstractmethod
    def user_id(self, login: str) -> str | None:
        """The id of the user with this login name, or None."""

    @abstractmethod
    def get(self, uid: str) -> UserRecord | None:
        """The user with this id, or None."""

    def find(self, login: str) -> UserRecord | None:
        """The user with this login name, or None (one round trip where the backend can)."""
        uid = self.user_id(login)
        return None if uid is None else self.get(uid)

    @abstractmethod
    def search(self, filters: dict[str, str], limit: int) -> list[UserRecord]:
        """Users whose attributes match every filter (``*`` is a wildcard)."""

    @abstractmethod
    def check_password(self, uid: str, password: str) -> bool:
        """Whether ``password`` is the user's password in this store."""

    def check_unknown_password(self, password: str) -> None:
        """Spend on a login name that nobody in this store has what
        :meth:`check_password` spends on a user that exists, so that answer times do
        not tell which names exist (``POST /auth``). The default spends nothing: right
        for stores whose check costs nothing measurable, and for those that cannot
        imitate theirs (a bind to a directory)."""
        return None

    def test(self) -> StoreTestResult:
        """Check the configuration against the real backend."""
        users = self.search({}, limit=10_000)
        return StoreTestResult(
            True, f"Resolver is configured correctly: {len(users)} users found.", len(users)
        )

    def add(self, attributes: dict[str, str], password: str | None) -> str:
        raise StoreNotEditableError(f"User store {self.name!r} is not editable")

    def update(self, uid: str, attributes: dict[str, str], password: str | None) -> None:
        raise StoreNotEditableError(f"User store {self.name!r} is not editable")

    def delete(self, uid: str) -> None:
        raise StoreNotEditableError(f"User store {self.name!r} is not editable")

    def close(self) -> None:  # noqa: B027  (optional hook; most stores hold nothing)
        """Release connections; called when the configuration changes."""


__all__ = ["STANDARD_ATTRIBUTES", "StoreOptions", "StoreTestResult", "UserRecord", "UserStore"]
