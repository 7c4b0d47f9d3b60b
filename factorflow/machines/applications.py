"""The applications a token can be attached for, with the options each link keeps
(privacyIDEA's machine applications and their option names).

* ``ssh``: an sshkey token's public key for an SSH server; ``service_id`` (the
  service whose servers fetch it, privacyIDEA 3.10) and ``user`` (the account on the
  server the key logs in to; privacyIDEA's default ``root``).
* ``offline``: future HOTP values for a machine that authenticates offline;
  ``count`` values (default 100) hashed with ``rounds`` PBKDF2 rounds (default 6549).
* ``luks``: HMAC-SHA1 challenge-response material to unlock a disk; ``slot`` and
  ``partition``.
* ``base``: a plain link without application logic.

Parameters of an attachment that an application does not declare are stored as
options of the link too, as privacyIDEA stores them; declared options are validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from factorflow.core.describe import describe_options
from factorflow.errors import ParameterError
from factorflow.machines.offline import DEFAULT_COUNT, DEFAULT_ROUNDS

#: The user an ssh link logs in to when it names none (privacyIDEA's default).
DEFAULT_SSH_USER = "root"


class _Options(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class BaseOptions(_Options):
    pass


class SshOptions(_Options):
    user: str = Field(
        default="", max_length=120, pattern=r"^[^\s:]*$",
        description="The account on the SSH server the key logs in to (root without one).",
    )  # fmt: skip
    service_id: str = Field(
        default="", max_length=120, description="The service whose SSH servers fetch the key."
    )


class OfflineOptions(_Options):
    count: int = Field(
        default=DEFAULT_COUNT, ge=1, le=1000,
        description="How many future OTP values the machine keeps.",
    )  # fmt: skip
    rounds: int = Field(
        default=DEFAULT_ROUNDS, ge=1000, le=1_000_000,
        description="PBKDF2-SHA512 rounds of each hashed value.",
    )  # fmt: skip


class LuksOptions(_Options):
    slot: int = Field(default=7, ge=0, le=31, description="The LUKS key slot.")
    partition: str = Field(
        default="", max_length=255, description="The partition to unlock, e.g. /dev/sda2."
    )


@dataclass(frozen=True)
class Application:
    name: str
    options: type[_Options]
    #: The token types the application can use (empty: any).
    token_types: frozenset[str] = frozenset()
    #: The link needs a machine, or (ssh) a service id instead.
    needs_target: bool = False
    #: One line about the application, for ``GET /machine/applications``.
    description: str = ""


APPLICATIONS: dict[str, Application] = {
    "base": Application("base", BaseOptions, description="A plain link without application logic"),
    "ssh": Application(
        "ssh",
        SshOptions,
        frozenset({"sshkey"}),
        needs_target=True,
        description="An SSH key for the servers of a service id or a machine",
    ),
    "offline": Application(
        "offline",
        OfflineOptions,
        frozenset({"hotp"}),
        description="Hashed future HOTP values for a machine that authenticates offline",
    ),
    "luks": Application(
        "luks",
        LuksOptions,
        frozenset({"hotp", "totp"}),
        description="Challenge-response material that unlocks a LUKS disk",
    ),
}


def describe_applications() -> dict[str, dict[str, Any]]:
    """The applications with their option descriptors and token types
    (``GET /machine/applications``, Factorflow)."""
    return {
        name: {
            "description": app.description,
            "options": describe_options(app.options),
            "token_types": sorted(app.token_types),
        }
        for name, app in APPLICATIONS.items()
    }


def application(name: str) -> Application:
    try:
        return APPLICATIONS[name]
    except KeyError:
        raise ParameterError(
            f"Unknown application {name[:40]!r}; known: {', '.join(sorted(APPLICATIONS))}"
        ) from None


def check_options(app: Application, options: Mapping[str, Any]) -> dict[str, str]:
    """The options of a link as stored (strings); ParameterError naming a bad one."""
    for key, value in options.items():
        if len(str(key)) > 64 or len(str(value)) > 255:
            raise ParameterError(f"Invalid option {str(key)[:64]!r}: too long")
    try:
        app.options.model_validate(dict(options))
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        raise ParameterError(
            f"Invalid option {name!r} for application {app.name}: {first['msg']}"
        ) from None
    return {str(k): str(v) for k, v in options.items() if v is not None and str(v) != ""}


def parsed(app: Application, options: Mapping[str, str]) -> Any:
    """The stored options of a link through the application's model (defaults filled)."""
    return app.options.model_validate(dict(options))
