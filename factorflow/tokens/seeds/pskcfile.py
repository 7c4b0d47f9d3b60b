"""PSKC (RFC 6030) seed files with ``python-pskc``: import and export.

Import reads every ``KeyPackage``: HOTP keys (``urn:ietf:params:xml:ns:keyprov:pskc:hotp``)
with their ``Counter`` and TOTP keys (``...:totp``) with their ``TimeInterval``, the OTP
length from ``ResponseFormat/@Length`` (default 6), the hash from the algorithm
parameters' ``Suite`` (``HMAC-SHA256`` ...; default SHA-1). The serial is the device's
``SerialNo``, else the ``Key/@Id``. Keys may be plain (RFC 6030 section 5), encrypted
with a pre-shared AES key (section 6.1; ``psk``, hex) or with a key derived from a
password by PBKDF2 (section 6.2; ``password``). ``pskcValidateMAC`` says what a MAC
that does not match does (privacyIDEA's values): ``check_fail_hard`` (default) refuses
the file, ``check_fail_soft`` leaves that key out and imports the others,
``no_check`` ignores the MAC.

Export writes HOTP and TOTP tokens the same way, their secrets encrypted with
AES-128-CBC under a pre-shared key or a PBKDF2 password, with an HMAC-SHA256 MAC
(section 6.1.1), so that an import here reads back what was exported.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from xml.etree.ElementTree import ParseError as XmlParseError

from pskc import PSKC
from pskc.exceptions import PSKCError
from pskc.key import EncryptedValue, Key

from factorflow.crypto import SecretBox
from factorflow.errors import ParameterError
from factorflow.registry import Registry
from factorflow.tokens.base import TokenType
from factorflow.tokens.imports import ImportedToken
from factorflow.tokens.info import get_info
from factorflow.tokens.models import Token
from factorflow.tokens.seeds.model import (
    FieldError,
    Parsed,
    Placed,
    Rejected,
    checked_key,
    oath_token,
    serial_of,
)

MacCheck = Literal["check_fail_hard", "check_fail_soft", "no_check"]
MAC_CHECKS: tuple[MacCheck, ...] = ("check_fail_hard", "check_fail_soft", "no_check")
_NS = "urn:ietf:params:xml:ns:keyprov:pskc:"
ALGORITHMS = {"hotp": _NS + "hotp", "totp": _NS + "totp"}
_SUITES = {"sha1": "HMAC-SHA1", "sha256": "HMAC-SHA256", "sha512": "HMAC-SHA512"}
_PSK = re.compile(r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{48}|[0-9a-fA-F]{64})$")
#: Values a key can hold encrypted (python-pskc keeps them as ``_<name>``).
_ENCRYPTABLE = ("secret", "counter", "time_offset", "time_interval", "time_drift")


def psk_bytes(psk: str) -> bytes:
    """A pre-shared AES key given as hex: 128, 192 or 256 bits."""
    if not _PSK.match(psk.strip()):
        raise ParameterError(
            "The pre-shared key must be an AES key in hex: 32, 48 or 64 hex digits"
        )
    return bytes.fromhex(psk.strip())


def parse_pskc(
    text: str, *, psk: str = "", password: str = "", validate_mac: MacCheck = "check_fail_hard"
) -> Parsed:
    parsed = Parsed()
    # A DTD is how entity expansion bombs and external entities get in; PSKC has none.
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        parsed.reject("the file", "document type declarations are not accepted")
        return parsed
    try:
        container = PSKC(io.BytesIO(text.encode()))
    except (PSKCError, XmlParseError, ValueError) as exc:
        parsed.reject("the file", f"not a PSKC (RFC 6030) file: {exc}")
        return parsed
    if not _unlock(container, parsed, psk=psk, password=password):
        return parsed
    if validate_mac == "no_check":
        _ignore_macs(container)
    for index, key in enumerate(container.keys, start=1):
        where = f"KeyPackage {index}" + (f" (Key Id {key.id!r})" if key.id else "")
        try:
            placed = Placed(where, _token(key))
        except FieldError as exc:
            parsed.reject(where, str(exc), str(key.serial or key.id or "")[:64])
        except PSKCError as exc:
            serial = str(key.serial or key.id or "")[:64]
            if "MAC" in str(exc) and validate_mac == "check_fail_soft":
                parsed.skipped.append(Rejected(where, "the MAC does not match", serial))
            elif "MAC" in str(exc):
                parsed.reject(where, "the MAC does not match (wrong key or altered file)", serial)
            else:
                parsed.reject(where, f"the key does not decrypt (wrong key or password): {exc}")
        else:
            parsed.tokens.append(placed)
    return parsed


def _unlock(container: PSKC, parsed: Parsed, *, psk: str, password: str) -> bool:
    if not container.encryption.is_encrypted:
        return True
    if psk:
        container.encryption.key = psk_bytes(psk)
        return True
    if password:
        try:
            container.encryption.derive_key(password)
        except PSKCError as exc:
            parsed.reject("EncryptionKey", f"the key cannot be derived: {exc}")
            return False
        return True
    parsed.reject("EncryptionKey", "the keys are encrypted: give the pre-shared key or password")
    return False


def _ignore_macs(container: PSKC) -> None:
    # python-pskc checks a value's MAC whenever it decrypts it and has no switch for
    # privacyIDEA's no_check: the MAC values are dropped instead.
    for key in container.keys:
        for name in _ENCRYPTABLE:
            value = getattr(key, f"_{name}", None)
            if isinstance(value, EncryptedValue):
                value.mac_value = None


def _token(key: Key) -> ImportedToken:
    # The last part of the URI: RFC 6030's ...:pskc:hotp, and the #hotp of older drafts.
    kind = re.split("[:#]", key.algorithm or "")[-1].lower()
    if kind not in ALGORITHMS:
        raise FieldError(f"unsupported algorithm {key.algorithm!r} (HOTP or TOTP)")
    serial = serial_of(str(key.serial or key.id or ""))
    secret = key.secret
    if secret is None:
        raise FieldError("no secret")
    suite = (key.algorithm_suite or "HMAC-SHA1").upper()
    hashlib = next((h for h, s in _SUITES.items() if s == suite), "")
    if not hashlib:
        raise FieldError(f"unsupported algorithm suite {key.algorithm_suite!r}")
    return oath_token(
        serial,
        kind,
        checked_key(bytes(secret)),
        otplen=key.response_length or 6,
        hashlib=hashlib,
        time_step=key.time_interval or 30,
        counter=key.counter or 0,
        description=str(key.friendly_name or "")[:80],
    )


@dataclass(frozen=True)
class Protection:
    """How an export's secrets are encrypted: a pre-shared AES key or a password."""

    psk: bytes = b""
    password: str = ""

    def __post_init__(self) -> None:
        if bool(self.psk) == bool(self.password):
            raise ParameterError("Give either a pre-shared key (psk) or a password")


def export_pskc(
    tokens: Sequence[Token], types: Registry[TokenType], box: SecretBox, protection: Protection
) -> bytes:
    """The tokens as a PSKC document; only HOTP and TOTP tokens can be exported."""
    container = PSKC()
    for token in tokens:
        if token.tokentype not in ALGORITHMS:
            raise ParameterError(
                f"Token {token.serial!r} is a {token.tokentype} token: only HOTP and TOTP "
                "tokens can be exported to PSKC"
            )
        secret = types[token.tokentype](token, box).load_secret()
        hashlib = get_info(token, "hashlib", "sha1")
        key = container.add_key(
            id=token.serial,
            serial=token.serial,
            manufacturer="Factorflow",
            algorithm=ALGORITHMS[token.tokentype],
            response_length=token.otplen,
            response_encoding="DECIMAL",
            secret=secret,
        )
        if hashlib != "sha1":
            key.algorithm_suite = _SUITES[hashlib]
        if token.tokentype == "hotp":
            key.counter = token.otp_counter
        else:
            key.time_interval = int(get_info(token, "timeStep", "30") or 30)
    if protection.psk:
        container.encryption.setup_preshared_key(key=protection.psk)
    else:
        container.encryption.setup_pbkdf2(protection.password)
    container.mac.setup(algorithm="hmac-sha256")
    out = io.BytesIO()
    container.write(out)
    return out.getvalue()
