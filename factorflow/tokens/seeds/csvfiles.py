"""OATH CSV and Yubikey CSV seed files (privacyIDEA's import formats).

**OATH CSV** (privacyIDEA's "OATH CSV"): one token a line,
``<serial>, <seed>, <type>, <otp length>, <time step>``; the seed is hexadecimal, the
type ``hotp`` (the default) or ``totp``, the OTP length 6 (default) or 8, the time
step of TOTP 30 (default) or 60. A 32-byte seed is SHA-256 and a 64-byte one SHA-512,
any other SHA-1. A file whose first line is ``# version: 2`` starts each line with
the owner: ``<username>, <resolver>, <realm>, <serial>, ...``. Blank lines and lines
starting with ``#`` are skipped.

**Yubikey CSV** (the log file of Yubico's personalization tool), in either layout:

* traditional: ``Yubico OTP,<date>,<slot>,<public id>,<private id>,<AES key>,...`` and
  ``OATH-HOTP,<date>,<slot>,<public id>,,<HMAC key>,,,0,0,0,<digits>,...``;
* Yubico's: ``<serial>,<public id>,<private id>,<AES key>,,<date>,`` (Yubico OTP) and
  ``<serial>,,0,<HMAC key>,,<date>,`` (OATH-HOTP).

Yubico OTP lines become ``yubikey`` tokens (serial ``UBAM<serial>_<slot>``, the private
id as ``yubikey.tokenid``, the OTP length the public id's plus 32), OATH-HOTP lines
``hotp`` tokens (``UBOM<serial>_<slot>``). Yubico's layout has no slot: slot 1. The
traditional layout has no device serial: the public id stands in. Static-password and
challenge-response configurations hold no OTP secret to import; their lines are
rejected.
"""

from __future__ import annotations

import re

from factorflow.core.dates import timestamp
from factorflow.tokens.imports import ImportedToken
from factorflow.tokens.seeds.model import (
    FieldError,
    Parsed,
    Placed,
    hash_for_key_length,
    hex_key,
    number,
    oath_token,
    serial_of,
)
from factorflow.tokens.types.yubikey import MODHEX, TOKENID

_VERSION = re.compile(r"^#\s*version\s*:\s*(\d+)\s*$", re.IGNORECASE)
_OWNER_COLUMNS = 3


def _lines(text: str) -> list[tuple[int, str]]:
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def parse_oath_csv(text: str) -> Parsed:
    parsed = Parsed()
    lines = _lines(text)
    version = 1
    if lines and (match := _VERSION.match(lines[0][1])):
        version = int(match.group(1))
        if version not in (1, 2):
            parsed.reject(f"line {lines[0][0]}", f"unknown file version {version}")
            return parsed
    for line_no, line in lines:
        if line.startswith("#"):
            continue
        where = f"line {line_no}"
        columns = [column.strip() for column in line.split(",")]
        owner: tuple[str, str, str] | None = None
        if version == 2:
            if len(columns) < _OWNER_COLUMNS + 2:
                parsed.reject(where, "a version 2 line starts with user, resolver, realm")
                continue
            owner = (columns[0], columns[1], columns[2])
            columns = columns[_OWNER_COLUMNS:]
        try:
            token = _oath_line(columns)
        except FieldError as exc:
            parsed.reject(where, str(exc), columns[0][:64])
            continue
        parsed.tokens.append(Placed(where, token, owner))
    return parsed


def _oath_line(columns: list[str]) -> ImportedToken:
    serial = serial_of(columns[0])
    if len(columns) < 2:
        raise FieldError("no key")
    key = hex_key(columns[1])
    tokentype = (columns[2] if len(columns) > 2 and columns[2] else "hotp").lower()
    if tokentype not in ("hotp", "totp"):
        raise FieldError(f"unknown token type {tokentype[:20]!r} (hotp or totp)")
    otplen = number(columns[3], "the OTP length") if len(columns) > 3 and columns[3] else 6
    step = number(columns[4], "the time step") if len(columns) > 4 and columns[4] else 30
    return oath_token(
        serial, tokentype, key, otplen=otplen, hashlib=hash_for_key_length(key), time_step=step
    )


def parse_yubikey_csv(text: str) -> Parsed:
    parsed = Parsed()
    for line_no, line in _lines(text):
        if line.startswith("#"):
            continue
        columns = [column.strip() for column in line.split(",")]
        try:
            if columns[0].isdigit():
                token = _yubico_layout(columns)
            else:
                token = _traditional_layout(columns)
        except FieldError as exc:
            parsed.reject(f"line {line_no}", str(exc))
            continue
        parsed.tokens.append(Placed(f"line {line_no}", token))
    return parsed


def _column(columns: list[str], index: int) -> str:
    return columns[index] if len(columns) > index else ""


def _yubico_layout(columns: list[str]) -> ImportedToken:
    device = int(columns[0])
    public, private, key = _column(columns, 1), _column(columns, 2), _column(columns, 3)
    if private == "0":
        return _oath(f"UBOM{device:08d}_1", key, 6)
    if public and private:
        return _yubico_otp(f"UBAM{device:08d}_1", public, private, key)
    raise FieldError("a static-password configuration has no OTP secret to import")


def _traditional_layout(columns: list[str]) -> ImportedToken:
    mode, slot = columns[0].lower(), _column(columns, 2) or "1"
    public, private, key = _column(columns, 3), _column(columns, 4), _column(columns, 5)
    if not slot.isdigit():
        raise FieldError(f"slot {slot[:10]!r} is not a number")
    if mode == "yubico otp":
        return _yubico_otp(f"UBAM{public}_{slot}", public, private, key)
    if mode == "oath-hotp":
        digits = _column(columns, 11)
        return _oath(f"UBOM{public}_{slot}", key, number(digits, "the OTP length") if digits else 6)
    raise FieldError(f"configuration {columns[0][:30]!r} has no OTP secret to import")


def _oath(serial: str, key_hex: str, digits: int) -> ImportedToken:
    key = hex_key(key_hex)
    return oath_token(serial_of(serial), "hotp", key, otplen=digits, hashlib="sha1")


def _yubico_otp(serial: str, public: str, private: str, key_hex: str) -> ImportedToken:
    if not public or any(c not in MODHEX for c in public) or len(public) > 32:
        raise FieldError("the public id is not modhex")
    if not re.fullmatch(r"[0-9a-fA-F]{12}", private):
        raise FieldError("the private id is not 6 bytes of hex")
    key = hex_key(key_hex)
    if len(key) != 16:
        raise FieldError("the AES key must be 16 bytes (32 hex digits)")
    info = {TOKENID: private.lower(), "tokenkind": "hardware", "import_date": timestamp()}
    return ImportedToken(
        serial=serial_of(serial),
        tokentype="yubikey",
        secret=key,
        otplen=len(public) + 32,
        info=info,
    )
