"""Decrypting what privacyIDEA encrypted with its ``PI_ENCFILE``.

The file holds 96 raw bytes: three AES-256 keys — bytes 0-31 for token secrets and
PINs, 32-63 for configuration secrets (SMTP passwords, SMS gateway options), 64-95
for values. Everything is AES-256-CBC. A token's ``key_enc`` and ``key_iv`` are hex;
the plaintext is normally PKCS#7 padded, and rows written by older versions use other
paddings, which :func:`unpad` also takes. Configuration secrets are
``iv_hex:cipher_hex`` under key 1.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from factorflow.migrate.errors import MigrationSourceError

KEY_FILE_SIZE = 96
_BLOCK = 16


class PiDecryptionError(ValueError):
    """One stored value does not decrypt (reported for its item, not fatal)."""


class PiKeys:
    """The three keys of one ``PI_ENCFILE``."""

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_FILE_SIZE:
            raise MigrationSourceError(
                f"The encryption key file has {len(raw)} bytes; privacyIDEA's has {KEY_FILE_SIZE}"
            )
        self._keys = (raw[0:32], raw[32:64], raw[64:96])

    @classmethod
    def load(cls, path: Path) -> PiKeys:
        try:
            return cls(path.read_bytes())
        except OSError as exc:
            raise MigrationSourceError(
                f"Cannot read the encryption key file {path}: {exc.strerror or exc}"
            ) from None

    def decrypt(self, slot: int, cipher_hex: str, iv_hex: str) -> bytes:
        try:
            data, iv = bytes.fromhex(cipher_hex), bytes.fromhex(iv_hex)
        except ValueError:
            raise PiDecryptionError("the stored value is not hex") from None
        if not data or len(data) % _BLOCK or len(iv) != _BLOCK:
            raise PiDecryptionError("the stored value has the wrong length")
        decryptor = Cipher(algorithms.AES(self._keys[slot]), modes.CBC(iv)).decryptor()
        return unpad(decryptor.update(data) + decryptor.finalize())

    def token_secret(self, key_enc: str, key_iv: str) -> str:
        """A token's stored secret as text: the OTP key in hex for OATH types, the
        password or code itself for pw and registration tokens."""
        try:
            return self.decrypt(0, key_enc, key_iv).decode("ascii")
        except UnicodeDecodeError:
            # A wrong key yields random bytes; the right one yields ASCII text.
            raise PiDecryptionError("the token secret does not decrypt with this key") from None

    def config_secret(self, stored: str) -> str:
        """A configuration secret stored as ``iv_hex:cipher_hex`` (key 1)."""
        iv_hex, sep, cipher_hex = stored.partition(":")
        if not sep:
            raise PiDecryptionError("the stored value is not iv:ciphertext")
        try:
            return self.decrypt(1, cipher_hex, iv_hex).decode("utf-8")
        except UnicodeDecodeError:
            raise PiDecryptionError("the secret does not decrypt with this key") from None


def unpad(plain: bytes) -> bytes:
    """Remove PKCS#7 padding, or one of the older paddings privacyIDEA wrote: the
    data followed by ``\\x01\\x02`` and zero bytes, or by zero bytes alone."""
    last = plain[-1] if plain else 0
    if 1 <= last <= _BLOCK and plain[-last:] == bytes([last]) * last:
        return plain[:-last]
    stripped = plain.rstrip(b"\x00")
    if stripped.endswith(b"\x01\x02"):
        return stripped[:-2]
    return stripped
