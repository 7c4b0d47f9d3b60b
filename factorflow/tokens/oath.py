"""Shared OATH machinery of HOTP (RFC 4226) and TOTP (RFC 6238) tokens: key
parameters, key formats, the HOTP function and the enrolment URIs."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from cryptography.hazmat.primitives.hashes import SHA1, SHA256, SHA512
from cryptography.hazmat.primitives.twofactor.hotp import HOTP
from pydantic import Field, field_validator

from factorflow.core.describe import CHOICES, SECRET_OPTION, VISIBLE_IF
from factorflow.core.params import PiBool
from factorflow.errors import ParameterError
from factorflow.tokens.base import EnrollContext, TokenInitParams
from factorflow.tokens.qr import png_data_uri

HashName = Literal["sha1", "sha256", "sha512"]
_ALGORITHMS: dict[str, type[SHA1 | SHA256 | SHA512]] = {
    "sha1": SHA1,
    "sha256": SHA256,
    "sha512": SHA512,
}
_DIGEST_SIZES = {"sha1": 20, "sha256": 32, "sha512": 64}


class OathInitParams(TokenInitParams):
    """Enrolment parameters of HOTP-based tokens."""

    otpkey: Annotated[str | None, SECRET_OPTION] = Field(
        default=None,
        max_length=256,
        title="OTP key",
        description="The key of a token you hold; leave empty to have the server generate one.",
        # A form asks for the key only while the server is not to generate it.
        json_schema_extra={VISIBLE_IF: ["genkey", False]},
    )
    genkey: PiBool = Field(
        default=False,
        title="Generate the key on the server",
        description="The server generates the key (also without this, when no OTP key is given).",
    )
    keysize: int | None = Field(
        default=None,
        ge=10,
        le=64,
        title="Key size (bytes)",
        description="Length of a generated key; empty: the hash algorithm's digest size.",
    )
    otpkeyformat: Literal["hex", "base32check"] = Field(
        default="hex",
        title="OTP key format",
        description="hex, or base32check: base32 of the key and its SHA-1 checksum.",
    )
    otplen: int = Field(
        default=6,
        title="OTP length",
        description="Digits per OTP.",
        json_schema_extra={CHOICES: [6, 8]},
    )
    hashlib: HashName = Field(default="sha1", title="Hash algorithm")

    @field_validator("otplen")
    @classmethod
    def _otplen(cls, value: int) -> int:
        if value not in (6, 8):
            raise ValueError("otplen must be 6 or 8")
        return value

    @field_validator("hashlib", "otpkeyformat", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    def key_bytes(self) -> bytes:
        """The key to store: the given ``otpkey`` decoded, or freshly generated."""
        if self.otpkey and self.genkey:
            raise ParameterError("You may either specify genkey or otpkey, but not both!")
        if self.otpkey:
            return decode_key(self.otpkey, self.otpkeyformat)
        return secrets.token_bytes(self.keysize or _DIGEST_SIZES[self.hashlib])

    def given_key_length(self) -> int | None:
        return len(decode_key(self.otpkey, self.otpkeyformat)) if self.otpkey else None


def decode_key(value: str, fmt: str) -> bytes:
    """Decode an ``otpkey`` given as hex, or as base32check (base32 of key plus the
    first four bytes of its SHA-1, which catches typing errors)."""
    text = value.strip()
    if fmt == "base32check":
        padded = text.upper() + "=" * (-len(text) % 8)
        try:
            raw = base64.b32decode(padded)
        except (binascii.Error, ValueError):
            raise ParameterError("Invalid otpkey: not base32") from None
        key, check = raw[:-4], raw[-4:]
        if len(raw) <= 4 or hashlib.sha1(key, usedforsecurity=False).digest()[:4] != check:
            raise ParameterError("Invalid otpkey: the base32check checksum does not match")
        return key
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ParameterError("Invalid otpkey: not a hex string") from None
    # Any length, as privacyIDEA accepts (its own documentation enrols "31323334");
    # the enrollment policy otpkey_minlength can require more.
    if not key:
        raise ParameterError("Invalid otpkey: empty")
    return key


def hotp_value(key: bytes, counter: int, digits: int, hash_name: str) -> str:
    """HOTP(K, C) truncated to ``digits`` digits (RFC 4226 section 5.3)."""
    algorithm = _ALGORITHMS.get(hash_name, SHA1)()
    generator = HOTP(key, digits, algorithm, enforce_key_length=False)
    return generator.generate(counter).decode()


def otpauth_uri(
    kind: Literal["hotp", "totp"],
    key: bytes,
    ctx: EnrollContext,
    *,
    digits: int,
    hash_name: str,
    counter: int = 0,
    period: int = 30,
) -> str:
    """The Key Uri Format understood by authenticator apps (``otpauth://``)."""
    query: dict[str, Any] = {
        "secret": base64.b32encode(key).decode().rstrip("="),
        "issuer": ctx.issuer,
        "algorithm": hash_name.upper(),
        "digits": digits,
    }
    if kind == "hotp":
        query["counter"] = counter
    else:
        query["period"] = period
    label = quote(f"{ctx.issuer}:{ctx.label}", safe=":@")
    return f"otpauth://{kind}/{label}?{urlencode(query)}"


def enrolment_detail(uri: str, key: bytes, ctx: EnrollContext) -> dict[str, Any]:
    """privacyIDEA's ``googleurl``/``oathurl``/``otpkey`` blocks with QR images."""
    oath_query = urlencode({"name": ctx.label, "lockdown": "true", "key": key.hex()})
    oath = f"oathtoken:///addToken?{oath_query}"
    seed = f"seed://{key.hex()}"
    return {
        "googleurl": {
            "description": "URL for google Authenticator",
            "img": png_data_uri(uri),
            "value": uri,
        },
        "oathurl": {"description": "URL for OATH token", "img": png_data_uri(oath), "value": oath},
        "otpkey": {
            "description": "OTP seed",
            "img": png_data_uri(seed),
            "value": seed,
            "value_b32": base64.b32encode(key).decode().rstrip("="),
        },
    }
