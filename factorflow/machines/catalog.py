"""Machine resolver configurations (``/machineresolver/``): validation, secrets at rest
(sealed like the user stores', bound to ``machineresolver:<name>:<option>``, answered
as ``__CENSORED__``) and the resolver instances built from them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factorflow.core.checks import check_name
from factorflow.core.redaction import CENSORED
from factorflow.crypto import SecretBox
from factorflow.db.named import NamedConfigs, SealedValues
from factorflow.errors import ParameterError
from factorflow.machines.base import MachineResolver
from factorflow.machines.errors import MachineNotFoundError
from factorflow.machines.models import MachineResolverConfig, MachineToken
from factorflow.registry import Registry


def missing_machine_resolver(name: str) -> MachineNotFoundError:
    return MachineNotFoundError(f"The machine resolver {name[:130]!r} does not exist.")


def _options_error(type_name: str, exc: ValidationError) -> ParameterError:
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "missing":
        return ParameterError(f"Missing option {name!r} for machine resolver type {type_name}")
    if first["type"] == "extra_forbidden":
        return ParameterError(f"Unknown option {name!r} for machine resolver type {type_name}")
    return ParameterError(
        f"Invalid option {name!r} for machine resolver type {type_name}: {message}"
    )


class MachineResolverCatalog:
    def __init__(self, box: SecretBox, types: Registry[MachineResolver]) -> None:
        self.types = types
        self._secrets = SealedValues(box, "machineresolver")
        self._rows = NamedConfigs(MachineResolverConfig, missing_machine_resolver, column="name")

    def resolver_class(self, type_name: str) -> type[MachineResolver]:
        try:
            return self.types[type_name]
        except KeyError:
            raise ParameterError(
                f"Unknown machine resolver type {type_name[:64]!r}; known types: "
                f"{', '.join(sorted(self.types))}"
            ) from None

    def describe_types(self) -> dict[str, dict[str, Any]]:
        return {name: cls.describe() for name, cls in sorted(self.types.items())}

    def build(self, name: str, type_name: str, fields: Mapping[str, Any]) -> MachineResolver:
        cls = self.resolver_class(type_name)
        try:
            options = cls.Options.model_validate(dict(fields))
        except ValidationError as exc:
            raise _options_error(type_name, exc) from None
        return cls(name, options)

    # -- stored configurations ------------------------------------------------------

    def find(self, session: Session, name: str) -> MachineResolverConfig | None:
        return self._rows.find(session, name)

    def get(self, session: Session, name: str) -> MachineResolverConfig:
        return self._rows.get(session, name)

    def all(self, session: Session) -> list[MachineResolverConfig]:
        return self._rows.all(session)

    def plaintext(self, row: MachineResolverConfig) -> dict[str, Any]:
        config: dict[str, Any] = json.loads(row.config or "{}")
        for key in self.resolver_class(row.type).secret_names():
            if isinstance(config.get(key), str):
                config[key] = self._secrets.open(config[key], row.name, key)
        return config

    def resolver(self, row: MachineResolverConfig) -> MachineResolver:
        return self.build(row.name, row.type, self.plaintext(row))

    def _merged(
        self, name: str, type_name: str, fields: Mapping[str, Any], stored: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``fields`` over ``stored``; a censored secret keeps its stored value."""
        secrets = self.resolver_class(type_name).secret_names()
        merged = dict(stored)
        for key, value in fields.items():
            if key in secrets and value == CENSORED:

                def refuse(key: str = key) -> ParameterError:
                    return ParameterError(
                        f"Invalid option {key!r} for machine resolver {name!r}: send the "
                        "secret itself, not the censored placeholder"
                    )

                merged[key] = self._secrets.kept(value, stored.get(key), refuse)
            else:
                merged[key] = value
        return merged

    def candidate(
        self, session: Session, name: str, type_name: str, fields: Mapping[str, Any]
    ) -> MachineResolver:
        """The resolver ``fields`` describe, over the stored options of ``name``."""
        row = self.find(session, name) if name else None
        stored = self.plaintext(row) if row is not None and row.type == type_name else {}
        return self.build(name or "test", type_name, self._merged(name, type_name, fields, stored))

    def save(
        self, session: Session, name: str, type_name: str, fields: Mapping[str, Any]
    ) -> MachineResolverConfig:
        """Create or update; an update merges the options into the stored ones, and
        the type of an existing resolver cannot change. The configuration must be
        readable (:meth:`MachineResolver.verify_config`) before it is stored."""
        check_name("machine resolver", name)
        row = self.find(session, name)
        if row is not None and row.type != type_name:
            raise ParameterError(
                f"The machine resolver {name!r} has type {row.type}; its type cannot be changed"
            )
        resolver = self.candidate(session, name, type_name, fields)
        resolver.verify_config()
        config = resolver.options.model_dump(by_alias=True, exclude_unset=True, mode="json")
        for key in type(resolver).secret_names():
            if isinstance(config.get(key), str):
                config[key] = self._secrets.seal(config[key], name, key)
        values = {"type": type_name, "config": json.dumps(config, sort_keys=True)}
        return self._rows.save(session, name, values, row=row)

    def describe(self, row: MachineResolverConfig) -> dict[str, Any]:
        """privacyIDEA's ``GET /machineresolver/`` entry, secrets censored."""
        data: dict[str, Any] = json.loads(row.config or "{}")
        for key in self.resolver_class(row.type).secret_names():
            if data.get(key):
                data[key] = CENSORED
        return {"resolvername": row.name, "type": row.type, "data": data}

    def delete(self, session: Session, name: str) -> None:
        """Delete a resolver no token is attached to a machine of."""
        row = self.get(session, name)
        links = session.scalar(
            select(func.count())
            .select_from(MachineToken)
            .where(MachineToken.machineresolver_id == row.id)
        )
        if links:
            raise ParameterError(
                f"The machine resolver {name!r} is still used by {links} token attachment(s)."
            )
        self._rows.remove(session, row)
