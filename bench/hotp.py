"""RFC 4226 HOTP, independent of the code under test, so the load generator can
compute the one-time password for any counter of a token whose key it knows."""

from __future__ import annotations

import hashlib
import hmac
import struct


def hotp(key: bytes, counter: int, digits: int = 6) -> str:
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def wrong_otp(key: bytes, counter: int, window: int = 100, digits: int = 6) -> str:
    """A value that matches none of the next ``window`` counters (so it is always wrong)."""
    taken = {hotp(key, c, digits) for c in range(counter, counter + window)}
    candidate = int(hotp(key, counter, digits))
    while True:
        candidate = (candidate + 7919) % 10**digits
        value = str(candidate).zfill(digits)
        if value not in taken:
            return value
