"""Verifying the password hashes that user stores hold.

Supported formats: argon2 (``$argon2id$``/``$argon2i$``), bcrypt (``$2a$``/``$2b$``/
``$2y$``), SHA-512/SHA-256/MD5 crypt (``$6$``/``$5$``/``$1$``) and the LDAP-style
salted SHA digests privacyIDEA's SQL resolver reads (``{SSHA}``, ``{SSHA256}``,
``{SSHA512}``: base64 of digest followed by salt). Anything else, including
plain text, never verifies.

:class:`Decoys` makes hashes of random secrets in the format and at the cost of a
sample hash: verifying a password of a login nobody has against one costs what the
check of a real user's password costs (see ``UserStore.check_unknown_password``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import secrets
import threading
from collections.abc import Hashable

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


def cost_of(stored: str) -> Hashable | None:
    """What the cost of verifying ``stored`` depends on (its format and parameters,
    not its salt); None for a format that never verifies."""
    if stored.startswith("$argon2"):
        try:
            return ("argon2", dataclasses.astuple(argon2.extract_parameters(stored)))
        except argon2.exceptions.InvalidHashError:
            return None
    for prefix in _SALTED:
        if stored.startswith(prefix):
            return (prefix, len(stored))
    try:
        scheme = _CRYPT.identify(stored)
        if scheme is None:
            return None
        parsed = _CRYPT.handler(scheme).from_string(stored)
    except (ValueError, TypeError):
        return None
    return (scheme, getattr(parsed, "rounds", None))


def decoy_like(stored: str) -> str | None:
    """A hash of a random secret with the format and cost parameters of ``stored``."""
    cost = cost_of(stored)
    if cost is None:
        return None
    secret = secrets.token_urlsafe(16)
    if stored.startswith("$argon2"):
        params = argon2.extract_parameters(stored)
        return argon2.PasswordHasher.from_parameters(params).hash(secret)
    for prefix, digest in _SALTED.items():
        if stored.startswith(prefix):
            try:
                raw_len = len(base64.b64decode(stored[len(prefix) :]))
            except (binascii.Error, ValueError):
                return None
            salt_len = raw_len - hashlib.new(digest).digest_size
            salt = secrets.token_bytes(max(salt_len, 4))
            raw = hashlib.new(digest, secret.encode() + salt).digest() + salt
            return prefix + base64.b64encode(raw).decode()
    scheme = _CRYPT.identify(stored)
    handler = _CRYPT.handler(scheme)
    rounds = getattr(handler.from_string(stored), "rounds", None)
    return str((handler.using(rounds=rounds) if rounds else handler).hash(secret))


class Decoys:
    """Decoy hashes by cost (a few at most: one per format and cost a store's users
    have), made once each. Safe for many threads."""

    MAX = 8

    def __init__(self) -> None:
        self._made: dict[Hashable, str] = {}
        self._lock = threading.Lock()

    def verify_like(self, sample: str, password: str) -> None:
        """Verify ``password`` against a decoy costing what ``sample`` costs; the
        answer is always thrown away (the decoy's secret is random and unknown)."""
        cost = cost_of(sample)
        if cost is None:
            return
        decoy = self._made.get(cost)
        if decoy is None:
            decoy = decoy_like(sample)
            if decoy is None:
                return
            with self._lock:
                if len(self._made) >= self.MAX:
                    self._made.clear()
                self._made[cost] = decoy
        verify_password(decoy, password)
