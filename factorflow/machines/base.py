"""The machine-resolver plug-in API: subclass :class:`MachineResolver`, declare an
options model, and register the class under the ``factorflow.machine_resolvers``
entry-point group (the built-in ``hosts`` and ``ldap`` register the same way).

A resolver answers which machines exist: each a :class:`Machine` with an id that is
stable within the resolver (privacyIDEA's ``machine_id``; a token link stores it),
a hostname and its IP addresses. Contract for implementations:

* Options are a pydantic model whose *aliases* are privacyIDEA's option names
  (``filename``, ``LDAPURI``, ...); unknown options are refused; secret options
  (typed :data:`~factorflow.core.describe.Secret`) are encrypted at rest and censored.
* :meth:`verify_config` does cheap checks when the configuration is written and raises
  ParameterError naming the option; :meth:`test` reaches the real backend.
* :meth:`machines` filters exactly (hostnames case-insensitively); a backend that
  cannot be read raises :class:`~factorflow.machines.errors.MachineResolverError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from factorflow.core.describe import describe_options
from factorflow.core.describe import secret_options as declared_secrets


class MachineResolverOptions(BaseModel):
    """Base of every machine resolver's options model; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


@dataclass(frozen=True)
class Machine:
    """One machine as its resolver sees it."""

    resolver: str
    id: str
    hostname: str
    ips: tuple[str, ...] = ()
    #: Other names of the machine; a hostname filter matches them too.
    aliases: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """privacyIDEA's ``GET /machine/`` entry."""
        return {
            "hostname": self.hostname,
            "id": self.id,
            "ip": self.ips[0] if self.ips else "",
            "resolver_name": self.resolver,
        }


@dataclass(frozen=True)
class MachineFilter:
    """What ``GET /machine/`` asks for; empty fields match everything. ``any`` matches
    a machine whose hostname, id or an address contains it (privacyIDEA's ``any``)."""

    hostname: str = ""
    ip: str = ""
    id: str = ""
    any: str = ""

    def matches(self, machine: Machine) -> bool:
        names = {machine.hostname.lower(), *(alias.lower() for alias in machine.aliases)}
        if self.hostname and self.hostname.lower() not in names:
            return False
        if self.ip and self.ip not in machine.ips:
            return False
        if self.id and machine.id != self.id:
            return False
        if self.any:
            needle = self.any.lower()
            fields = (machine.hostname.lower(), machine.id.lower(), *machine.ips)
            return any(needle in field for field in fields)
        return True


class MachineResolver(ABC):
    #: privacyIDEA's machine resolver type, e.g. ``hosts``.
    type_name: ClassVar[str]
    #: One line about the type, for ``GET /machineresolver/types``.
    description: ClassVar[str] = ""
    Options: ClassVar[type[MachineResolverOptions]]

    def __init__(self, name: str, options: MachineResolverOptions) -> None:
        self.name = name
        self.options = options

    @classmethod
    def secret_names(cls) -> frozenset[str]:
        return declared_secrets(cls.Options)

    @classmethod
    def describe(cls) -> dict[str, Any]:
        options = describe_options(cls.Options)
        for name in cls.secret_names() & options.keys():
            options[name]["secret"] = True
        return {"description": cls.description or cls.type_name, "options": options}

    def verify_config(self) -> None:
        """Cheap checks on write (a file is readable, a URI parses); no network."""
        return None

    @abstractmethod
    def machines(self, wanted: MachineFilter) -> list[Machine]:
        """The machines matching ``wanted``."""

    def test(self) -> tuple[bool, str]:
        """Read the backend; (ok, message)."""
        found = self.machines(MachineFilter())
        return True, f"Resolver is configured correctly: {len(found)} machines found."


__all__ = ["Machine", "MachineFilter", "MachineResolver", "MachineResolverOptions"]
