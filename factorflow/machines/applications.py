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

from factorflow.errors import ParameterError
from factorflow.machines.offline import DEFAULT_COUNT, DEFAULT_ROUNDS

#: The user an ssh link logs in to when it names none (privacyIDEA's default).
DEFAULT_SSH_USER = "root"


class _Options(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class BaseOptions(_Options):
    pass


class SshOptions(_Options):
    user: str = Field(default="", max_length=120, pattern=r"^[^\s:]*$")
    service_id: str = Field(default="", max_length=120)


class OfflineOptions(_Options):
    count: int = Field(default=DEFAULT_COUNT, ge=1, le=1000)
    rounds: int = Field(default=DEFAULT_ROUNDS, ge=1000, le=1_000_000)


class LuksOptions(_Options):
    slot: int = Field(default=7, ge=0, le=31)
    partition: str = Field(default="", max_length=255)


@dataclass(frozen=True)
class Application:
    name: str
    options: type[_Options]
    #: The token types the application can use (empty: any).
    token_types: frozenset[str] = frozenset()
    #: The link needs a machine, or (ssh) a service id instead.
    needs_target: bool = False


APPLICATIONS: dict[str, Application] = {
    "base": Application("base", BaseOptions),
    "ssh": Application("ssh", SshOptions, frozenset({"sshkey"}), needs_target=True),
    "offline": Application("offline", OfflineOptions, frozenset({"hotp"})),
    "luks": Application("luks", LuksOptions, frozenset({"hotp", "totp"})),
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
