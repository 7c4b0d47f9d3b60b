"""Resolver configurations: validation, secrets at rest, and the per-process cache of
store instances.

A resolver's configuration is stored as JSON of privacyIDEA's option names. Options
a store declares secret (``secret_options``) are encrypted with the SecretBox, bound
to ``resolver:<name>:<option>``, and read back as ``__CENSORED__``; sending the
censored value back on update keeps the stored secret.

Store instances are cached per process keyed by resolver name and a hash of the
stored configuration, so a changed configuration takes effect on the next lookup
and the replaced instance is closed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.core.checks import check_name
from factorflow.crypto import Hasher, SecretBox
from factorflow.db.named import NamedConfigs, SealedValues
from factorflow.errors import ParameterError
from factorflow.registry import Registry
from factorflow.users.base import StoreOptions, UserStore
from factorflow.users.errors import ResolverInUseError, ResolverNotFoundError
from factorflow.users.models import RealmResolver, ResolverConfig

CENSORED = "__CENSORED__"


def options_error(type_name: str, exc: ValidationError) -> ParameterError:
    """One message naming the first bad option by its privacyIDEA name."""
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "missing":
        return ParameterError(f"Missing option {name!r} for resolver type {type_name}")
    if first["type"] == "extra_forbidden":
        return ParameterError(f"Unknown option {name!r} for resolver type {type_name}")
    if not name:
        return ParameterError(f"Invalid configuration for resolver type {type_name}: {message}")
    return ParameterError(f"Invalid option {name!r} for resolver type {type_name}: {message}")


class StoredConfig(Protocol):
    """A resolver's stored configuration: the row itself, or a cached copy of it."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def config(self) -> str: ...


def missing_resolver(name: str) -> ResolverNotFoundError:
    return ResolverNotFoundError(f"The resolver {name[:130]!r} does not exist.")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class ResolverCatalog:
    """Stored resolver configurations and the store instances built from them."""

    def __init__(self, box: SecretBox, stores: Registry[UserStore], hasher: Hasher) -> None:
        self._secrets = SealedValues(box, "resolver")
        self._rows = NamedConfigs(ResolverConfig, missing_resolver, column="name")
        self._stores = stores
        self._hasher = hasher
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, UserStore]] = {}

    # -- types and options ----------------------------------------------------------

    def store_class(self, type_name: str) -> type[UserStore]:
        try:
            return self._stores[type_name]
        except KeyError:
            known = ", ".join(self._stores)
            raise ParameterError(
                f"Unknown resolver type {type_name[:64]!r}; known types: {known}"
            ) from None

    def validate(self, type_name: str, fields: Mapping[str, Any]) -> StoreOptions:
        cls = self.store_class(type_name)
        try:
            return cls.Options.model_validate(dict(fields))
        except ValidationError as exc:
            raise options_error(type_name, exc) from None

    def describe_types(self) -> dict[str, dict[str, Any]]:
        """``GET /resolver/types/``: each store type's description and options."""
        return {name: cls.describe() for name, cls in self._stores.items()}

    def default_config(self, type_name: str) -> dict[str, Any]:
        """The options of a new resolver of ``type_name`` with their defaults (empty for
        the required ones), under privacyIDEA's names: ``GET /resolver/<type>/default``."""
        out: dict[str, Any] = {}
        for name, info in self.store_class(type_name).Options.model_fields.items():
            value = info.get_default(call_default_factory=True) if not info.is_required() else ""
            out[info.alias or name] = _jsonable(value)
        return out

    def build(self, name: str, type_name: str, fields: Mapping[str, Any]) -> UserStore:
        """A store from plaintext options (not cached): for writes and ``/resolver/test``."""
        options = self.validate(type_name, fields)
        return self.store_class(type_name)(name, options, hasher=self._hasher)

    # -- stored configurations ------------------------------------------------------

    def find(self, session: Session, name: str) -> ResolverConfig | None:
        return self._rows.find(session, name)

    def get(self, session: Session, name: str) -> ResolverConfig:
        return self._rows.get(session, name)

    def all(self, session: Session) -> list[ResolverConfig]:
        return self._rows.all(session)

    def plaintext(self, row: StoredConfig) -> dict[str, Any]:
        config: dict[str, Any] = json.loads(row.config or "{}")
        for key in self.store_class(row.type).secret_names():
            if isinstance(config.get(key), str):
                config[key] = self._secrets.open(config[key], row.name, key)
        return config

    def merged_fields(
        self, name: str, type_name: str, fields: Mapping[str, Any], stored: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``fields`` over ``stored``; a censored secret keeps its stored value."""
        secrets = self.store_class(type_name).secret_names()

        def refuse() -> ParameterError:
            return ParameterError(
                f"Invalid option {key!r} for resolver {name!r}: send the secret itself, "
                "not the censored placeholder"
            )

        merged = dict(stored)
        for key, value in fields.items():
            if key in secrets and value == CENSORED:
                merged[key] = self._secrets.kept(value, stored.get(key), refuse)
                continue
            merged[key] = value
        return merged

    def save(
        self, session: Session, name: str, type_name: str, fields: Mapping[str, Any]
    ) -> tuple[ResolverConfig, bool]:
        """Create or update; returns the row and whether its stored configuration
        changed (created, or other options than before).

        An update merges the given options into the stored ones and validates the
        result as a whole; the type of an existing resolver cannot change."""
        check_name("resolver", name)
        row = self.find(session, name)
        if row is not None and row.type != type_name:
            raise ParameterError(
                f"The resolver {name!r} has type {row.type}; its type cannot be changed"
            )
        stored = self.plaintext(row) if row is not None else {}
        merged = self.merged_fields(name, type_name, fields, stored)
        store = self.build(name, type_name, merged)
        store.verify_config()
        config = store.options.model_dump(by_alias=True, exclude_unset=True, mode="json")
        for key in type(store).secret_names():
            if isinstance(config.get(key), str):
                config[key] = self._secrets.seal(config[key], name, key)
        values = {"type": type_name, "config": json.dumps(config, sort_keys=True)}
        before = None if row is None else (row.type, row.config)
        saved = self._rows.save(session, name, values, row=row)
        return saved, before != (saved.type, saved.config)

    def describe(self, row: StoredConfig) -> dict[str, Any]:
        cls = self.store_class(row.type)
        data: dict[str, Any] = json.loads(row.config or "{}")
        censored = sorted(key for key in cls.secret_names() if key in data)
        for key in censored:
            data[key] = CENSORED
        return {
            "resolvername": row.name,
            "type": row.type,
            "censor_keys": censored,
            "data": data,
        }

    def delete(self, session: Session, name: str) -> None:
        row = self.get(session, name)
        in_use = session.scalars(
            select(RealmResolver).where(RealmResolver.resolver_id == row.id)
        ).first()
        if in_use is not None:
            raise ResolverInUseError(
                f"The resolver {name!r} is still contained in realm {in_use.realm.name!r}."
            )
        self._rows.remove(session, row)
        self.forget(name)

    # -- the cache of store instances ---------------------------------------------------

    def store(self, row: StoredConfig) -> UserStore:
        """The (cached) store for a stored configuration; thread-safe."""
        key = hashlib.sha256(f"{row.type}\0{row.config}".encode()).hexdigest()
        with self._lock:
            cached = self._cache.get(row.name)
            if cached is not None and cached[0] == key:
                return cached[1]
            store = self.build(row.name, row.type, self.plaintext(row))
            self._cache[row.name] = (key, store)
        if cached is not None:
            cached[1].close()
        return store

    def forget(self, name: str) -> None:
        with self._lock:
            cached = self._cache.pop(name, None)
        if cached is not None:
            cached[1].close()

    def close(self) -> None:
        with self._lock:
            entries = list(self._cache.values())
            self._cache.clear()
        for _, store in entries:
            store.close()
