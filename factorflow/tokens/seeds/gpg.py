"""GPG-encrypted seed files (privacyIDEA's ``PI_GNUPG_HOME``): an ASCII-armored
message, encrypted to this server's key, is decrypted with the key ring in
``<data dir>/gnupg`` (a key without passphrase, as privacyIDEA's) before it is parsed."""

from __future__ import annotations

from pathlib import Path

import gnupg  # type: ignore[import-untyped]

from factorflow.errors import ParameterError

ARMOR = "-----BEGIN PGP MESSAGE-----"
KEYRING = "gnupg"


def is_encrypted(text: str) -> bool:
    return text.lstrip().startswith(ARMOR)


def decrypt(text: str, home: Path | None) -> str:
    if home is None or not home.is_dir():
        raise ParameterError(
            f"A GPG-encrypted file needs the server's key ring in <data dir>/{KEYRING}"
        )
    result = gnupg.GPG(gnupghome=str(home)).decrypt(text)
    if not result.ok:
        raise ParameterError(
            f"The GPG-encrypted file does not decrypt: {result.status or 'no key'}"
        )
    try:
        return bytes(result.data).decode("utf-8")
    except UnicodeDecodeError:
        raise ParameterError("The decrypted file is not UTF-8 text") from None
