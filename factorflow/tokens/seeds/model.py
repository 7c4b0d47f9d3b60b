"""What the seed-file parsers produce: tokens with where they came from, and the
lines or elements that were rejected, with why."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from factorflow.core.dates import timestamp
from factorflow.errors import ParameterError
from factorflow.tokens.access import SERIAL_PATTERN
from factorflow.tokens.imports import ImportedToken
from factorflow.tokens.types.totp import DEFAULT_TIME_WINDOW

#: Rejections named in an error's ``detail`` (the message names the first).
MAX_REPORTED = 100
#: OTP lengths and TOTP time steps enrolment accepts too.
OTP_LENGTHS = frozenset({6, 8})
TIME_STEPS = frozenset({30, 60})
#: Longest OTP key accepted (bytes): SHA-512's block size.
MAX_KEY_BYTES = 128
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")


@dataclass(frozen=True)
class Rejected:
    """A line (``line 3``) or an element (``KeyPackage 2``) and why it was refused."""

    where: str
    reason: str
    serial: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


@dataclass(frozen=True)
class Placed:
    """A token read from a file and where it was read."""

    where: str
    token: ImportedToken
    #: OATH CSV version 2: the owner as (login, resolver, realm).
    owner: tuple[str, str, str] | None = None


@dataclass
class Parsed:
    tokens: list[Placed] = field(default_factory=list)
    #: Refuse the file: nothing is imported.
    rejected: list[Rejected] = field(default_factory=list)
    #: Left out on purpose, the rest imported (PSKC ``pskcValidateMAC=check_fail_soft``).
    skipped: list[Rejected] = field(default_factory=list)

    def reject(self, where: str, reason: str, serial: str = "") -> None:
        self.rejected.append(Rejected(where, reason, serial))


class SeedFileError(ParameterError):
    """A file refused whole; ``detail.rejected`` lists the lines or elements and why."""

    def __init__(self, rejected: list[Rejected]) -> None:
        first = rejected[0]
        more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
        super().__init__(f"Nothing imported: {first.where}: {first.reason}{more}")
        self.detail: dict[str, Any] | None = {
            "rejected": [r.as_dict() for r in rejected[:MAX_REPORTED]],
            "n_rejected": len(rejected),
        }


class FieldError(ValueError):
    """A field that does not parse; the parser rejects its line or element."""


def serial_of(text: str) -> str:
    serial = text.strip()
    if not serial:
        raise FieldError("no serial")
    if not SERIAL_PATTERN.match(serial):
        raise FieldError(f"invalid serial {serial[:64]!r}")
    return serial


def hex_key(text: str) -> bytes:
    key = text.strip()
    if not key:
        raise FieldError("no key")
    if not _HEX.match(key):
        raise FieldError("the key is not hexadecimal")
    return checked_key(bytes.fromhex(key))


def checked_key(key: bytes) -> bytes:
    if not key:
        raise FieldError("no key")
    if len(key) > MAX_KEY_BYTES:
        raise FieldError(f"the key is longer than {MAX_KEY_BYTES} bytes")
    return key


def number(text: str, what: str, allowed: frozenset[int] | None = None) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise FieldError(f"{what} {text.strip()[:20]!r} is not a number") from None
    if allowed is not None and value not in allowed:
        raise FieldError(f"{what} must be one of {', '.join(map(str, sorted(allowed)))}")
    if value < 0:
        raise FieldError(f"{what} must not be negative")
    return value


def oath_token(
    serial: str,
    tokentype: str,
    key: bytes,
    *,
    otplen: int = 6,
    hashlib: str = "sha1",
    time_step: int = 30,
    counter: int = 0,
    description: str = "",
) -> ImportedToken:
    """An imported HOTP (RFC 4226) or TOTP (RFC 6238) hardware token, with the
    tokeninfo that enrolment writes (``hashlib``, ``timeStep`` ...) and ``import_date``."""
    if otplen not in OTP_LENGTHS:
        raise FieldError("the OTP length must be 6 or 8")
    info = {"hashlib": hashlib, "tokenkind": "hardware", "import_date": timestamp()}
    if tokentype == "totp":
        if time_step not in TIME_STEPS:
            raise FieldError("the time step must be 30 or 60")
        info.update(timeStep=str(time_step), timeWindow=str(DEFAULT_TIME_WINDOW), timeShift="0")
        counter = 0  # TOTP's counter is the last time step used: none yet
    return ImportedToken(
        serial=serial,
        tokentype=tokentype,
        secret=key,
        otplen=otplen,
        otp_counter=counter,
        description=description,
        info=info,
    )


def hash_for_key_length(key: bytes) -> str:
    """privacyIDEA's OATH CSV rule: a 32-byte seed is SHA-256, 64 bytes SHA-512, else SHA-1."""
    return {32: "sha256", 64: "sha512"}.get(len(key), "sha1")
