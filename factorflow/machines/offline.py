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

import secrets
from typing import Any

from factorflow.tokens.oath import hotp_value

#: privacyIDEA's defaults for the offline application.
DEFAULT_COUNT = 100
DEFAULT_ROUNDS = 6549
SALT_BYTES = 16
#: The refill token a machine presents to get more values (hex).
REFILLTOKEN_BYTES = 32


def _pbkdf2_sha512() -> Any:
    # Imported when first needed: an API worker that hands out no offline values
    # never loads passlib (tests/test_worker_imports.py).
    from passlib.hash import pbkdf2_sha512

    return pbkdf2_sha512


def hash_value(otp: str, rounds: int) -> str:
    """``otp`` hashed with passlib's ``pbkdf2_sha512`` (a fresh 16-byte salt)."""
    return str(_pbkdf2_sha512().using(rounds=rounds, salt_size=SALT_BYTES).hash(otp))


def verify_value(otp: str, hashed: str) -> bool:
    """Whether ``otp`` is the value ``hashed`` stands for (what the machine does)."""
    try:
        return bool(_pbkdf2_sha512().verify(otp, hashed))
    except ValueError:  # not a pbkdf2-sha512 hash
        return False


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
