"""Helpers shared by the token and validate tests."""

from __future__ import annotations

import time
from typing import Any

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.hotp import HOTP
from starlette.testclient import TestClient

#: The key of RFC 4226 Appendix D and RFC 6238 Appendix B (SHA-1).
RFC_KEY = b"12345678901234567890"
RFC_KEY_HEX = RFC_KEY.hex()
#: RFC 4226 Appendix D: HOTP values for counters 0..9.
RFC4226_OTPS = [
    "755224", "287082", "359152", "969429", "338314",
    "254676", "287922", "162583", "399871", "520489",
]  # fmt: skip


def hotp(counter: int, key: bytes = RFC_KEY, digits: int = 6) -> str:
    return HOTP(key, digits, SHA1(), enforce_key_length=False).generate(counter).decode()


def totp(key: bytes = RFC_KEY, *, offset_steps: int = 0, step: int = 30, digits: int = 6) -> str:
    return hotp(int(time.time() // step) + offset_steps, key, digits)


def yubikey_otp(
    key: bytes, uid: bytes, *, usage: int, session: int, public_id: str = "cccccccccccb"
) -> str:
    """What a YubiKey in Yubico OTP mode types: ``public_id`` and the modhex of the
    AES-128 block (private id, counters, the timestamp of Yubico's first test vector,
    random 0, CRC-16)."""
    from factorflow.tokens.types.yubikey import aes_ecb, crc16, modhex_encode

    body = uid + usage.to_bytes(2, "little") + (0x010001).to_bytes(3, "little")
    body += bytes([session]) + bytes(2)
    block = body + (~crc16(body) & 0xFFFF).to_bytes(2, "little")
    return public_id + modhex_encode(aes_ecb(key, block, decrypt=False))


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["result"]["status"] is True, body
    return body


def init_token(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    return ok(client.post("/token/init", data=params, headers=headers))


def check(client: TestClient, **params: Any) -> dict[str, Any]:
    return ok(client.post("/validate/check", data=params))


def get_token(client: TestClient, headers: dict[str, str], serial: str) -> dict[str, Any]:
    body = ok(client.get("/token/", params={"serial": serial}, headers=headers))
    tokens = body["result"]["value"]["tokens"]
    assert len(tokens) == 1, tokens
    token: dict[str, Any] = tokens[0]
    return token


def assert_error(response: Any, status: int, code: int | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["result"]["status"] is False, body
    assert "error" in body["result"], body
    if code is not None:
        assert body["result"]["error"]["code"] == code, body
    return body
