"""Offline OTP values for a machine that authenticates without the server
(privacyIDEA's offline application, read by its PAM module and credential provider).

A fetch hands out ``count`` future HOTP values (RFC 4226), each hashed with
PBKDF2-SHA512 in passlib's modular format ``$pbkdf2-sha512$<rounds>$<salt>$<checksum>``
(salt and checksum in passlib's "ab64": base64 with ``.`` for ``+`` and no padding),
so that the machine can verify a value without learning the ones after it. The
token's counter moves past the values handed out in the same statement that claims
them: none of them is ever accepted online. A refill (``/validate/offlinerefill``)
proves which value the user typed last and tops the machine up to ``count`` again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from factorflow.tokens.oath import hotp_value

#: privacyIDEA's defaults for the offline application.
DEFAULT_COUNT = 100
DEFAULT_ROUNDS = 6549
SALT_BYTES = 16
#: The refill token a machine presents to get more values (hex).
REFILLTOKEN_BYTES = 32
PREFIX = "$pbkdf2-sha512$"


def ab64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=").replace("+", ".")


def ab64_decode(text: str) -> bytes:
    padded = text.replace(".", "+") + "=" * (-len(text) % 4)
    return base64.b64decode(padded)


def hash_value(otp: str, rounds: int, salt: bytes | None = None) -> str:
    """``otp`` hashed as passlib's ``pbkdf2_sha512`` hashes it."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    checksum = hashlib.pbkdf2_hmac("sha512", otp.encode(), salt, rounds)
    return f"{PREFIX}{rounds}${ab64(salt)}${ab64(checksum)}"


def verify_value(otp: str, hashed: str) -> bool:
    """Whether ``otp`` is the value ``hashed`` stands for (what the machine does)."""
    if not hashed.startswith(PREFIX):
        return False
    try:
        rounds_text, salt_text, checksum_text = hashed[len(PREFIX) :].split("$")
        rounds, salt, checksum = (
            int(rounds_text),
            ab64_decode(salt_text),
            ab64_decode(checksum_text),
        )
    except ValueError:
        return False
    computed = hashlib.pbkdf2_hmac("sha512", otp.encode(), salt, rounds)
    return hmac.compare_digest(computed, checksum)


def hashed_values(
    key: bytes, counters: range, *, digits: int, hash_name: str, rounds: int
) -> dict[str, str]:
    """``{counter: hash}`` of the HOTP values of ``counters``, as
    privacyIDEA's offline response holds them."""
    return {
        str(counter): hash_value(hotp_value(key, counter, digits, hash_name), rounds)
        for counter in counters
    }


def new_refilltoken() -> str:
    return secrets.token_hex(REFILLTOKEN_BYTES)
