"""Secrets at rest (AES-256-GCM) and password/PIN hashing (argon2id).

Key material lives in files of the data directory, created with owner-only
permissions. Ciphertexts are bound to their purpose with associated data, so a
secret copied into another column or row does not decrypt.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import argon2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from factorflow.errors import ServerError

_VERSION = "v1"


def ensure_key_file(path: Path, size: int = 32) -> bytes:
    """Return the key stored in ``path``, creating it (mode 0600) if missing."""
    if path.exists():
        key = path.read_bytes()
        if len(key) != size:
            raise ServerError(f"Key file {path} has the wrong length")
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(size)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


class SecretBox:
    """Authenticated encryption of short secrets (OTP keys, bind passwords)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, purpose: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext, purpose.encode())
        return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, purpose: str) -> bytes:
        version, _, body = token.partition(":")
        if version != _VERSION:
            raise ServerError("Unknown ciphertext version")
        raw = base64.b64decode(body)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], purpose.encode())
        except InvalidTag as exc:
            raise ServerError("A stored secret could not be decrypted") from exc

    def encrypt_text(self, plaintext: str, purpose: str) -> str:
        return self.encrypt(plaintext.encode(), purpose)

    def decrypt_text(self, token: str, purpose: str) -> str:
        return self.decrypt(token, purpose).decode()


class Hasher:
    """argon2id hashes for PINs and passwords, with a configurable cost."""

    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    def verify(self, stored: str, secret: str) -> bool:
        try:
            return self._hasher.verify(stored, secret)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False


def constant_time_equal(left: str, right: str) -> bool:
    return secrets.compare_digest(left.encode(), right.encode())
