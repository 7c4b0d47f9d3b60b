"""Verifying the password hashes that user stores hold.

Supported formats: argon2 (``$argon2id$``/``$argon2i$``), bcrypt (``$2a$``/``$2b$``/
``$2y$``), SHA-512/SHA-256/MD5 crypt (``$6$``/``$5$``/``$1$``) and the LDAP-style
salted SHA digests privacyIDEA's SQL resolver reads (``{SSHA}``, ``{SSHA256}``,
``{SSHA512}``: base64 of digest followed by salt). Anything else, including
plain text, never verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import argon2
from passlib.context import CryptContext

# passlib only for the crypt(3) family; argon2 goes straight to argon2-cffi.
_CRYPT = CryptContext(schemes=["bcrypt", "sha512_crypt", "sha256_crypt", "md5_crypt"])
_ARGON2 = argon2.PasswordHasher()
_SALTED = {"{SSHA}": "sha1", "{SSHA256}": "sha256", "{SSHA512}": "sha512"}


def is_password_hash(value: str) -> bool:
    """Whether ``value`` is in a format :func:`verify_password` understands."""
    if value.startswith("$argon2"):
        return True
    if any(value.startswith(prefix) for prefix in _SALTED):
        return True
    try:
        return _CRYPT.identify(value) is not None
    except ValueError:
        return False


def verify_password(stored: str, password: str) -> bool:
    """Check ``password`` against ``stored``; malformed hashes are a mismatch."""
    if not stored or not password:
        return False
    if stored.startswith("$argon2"):
        try:
            return _ARGON2.verify(stored, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False
    for prefix, digest in _SALTED.items():
        if stored.startswith(prefix):
            return _verify_salted(stored[len(prefix) :], password, digest)
    try:
        if _CRYPT.identify(stored) is None:
            return False
        return bool(_CRYPT.verify(password, stored))
    except (ValueError, TypeError):
        return False


def _verify_salted(encoded: str, password: str, algorithm: str) -> bool:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return False
    size = hashlib.new(algorithm).digest_size
    if len(raw) <= size:
        return False
    expected, salt = raw[:size], raw[size:]
    actual = hashlib.new(algorithm, password.encode() + salt).digest()
    return hmac.compare_digest(expected, actual)
