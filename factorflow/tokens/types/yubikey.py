"""YubiKey in Yubico OTP mode: an AES-128 block with counters, checked with the key here.

privacyIDEA's ``yubikey`` token (AES mode, no validation server). The key's output is
the public id (modhex, ``otplen`` - 32 characters, 12 by default) followed by 32
modhex characters: one AES-128 block, encrypted with the token's key (``otpkey``,
32 hex digits), holding the private id (6 bytes), the usage counter (2 bytes,
little-endian), a timestamp (3), the session counter (1), random bytes (2) and a
CRC-16 (ISO 13239) whose residue over the whole block is 0xf0b8.

A value is accepted when its block decrypts with a right CRC, its private id is the
token's (tokeninfo ``yubikey.tokenid``; a token enrolled without one learns it from
its first accepted value, as privacyIDEA does) and its counter — usage counter x 256
+ session counter — is at least ``otp_counter``; accepting moves ``otp_counter``
past it with one conditional ``UPDATE`` (:func:`~factorflow.tokens.base.advance_counter`),
so the counter strictly increases and a value is never accepted twice. The public id
is not checked, as in privacyIDEA.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import AliasChoices, Field, field_validator
from sqlalchemy.orm import Session

from factorflow.core.describe import SECRET_OPTION
from factorflow.tokens.base import (
    EnrollContext,
    OtpCheck,
    TokenInitParams,
    TokenType,
    advance_counter,
)
from factorflow.tokens.info import put_info

MODHEX = "cbdefghijklnrtuv"
_HEX = "0123456789abcdef"
_FROM_MODHEX = str.maketrans(MODHEX, _HEX)
_TO_MODHEX = str.maketrans(_HEX, MODHEX)
BLOCK_CHARS = 32
CRC_RESIDUE = 0xF0B8
TOKENID = "yubikey.tokenid"
_PRIVATE_ID = re.compile(r"^[0-9a-f]{12}$")


def modhex_decode(text: str) -> bytes | None:
    """The bytes of a modhex string; None when it is not one."""
    if len(text) % 2 or any(c not in MODHEX for c in text):
        return None
    return bytes.fromhex(text.translate(_FROM_MODHEX))


def modhex_encode(data: bytes) -> str:
    return data.hex().translate(_TO_MODHEX)


def crc16(data: bytes) -> int:
    """CRC-16 of ISO 13239 (reflected 0x8408, initial 0xffff, not inverted)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            low = crc & 1
            crc >>= 1
            if low:
                crc ^= 0x8408
    return crc


def aes_ecb(key: bytes, block: bytes, *, decrypt: bool) -> bytes:
    # One block, as the YubiKey encrypts it: ECB is the algorithm's, not a choice.
    cipher = Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305
    worker = cipher.decryptor() if decrypt else cipher.encryptor()
    return worker.update(block) + worker.finalize()


class YubikeyInitParams(TokenInitParams):
    otpkey: Annotated[str, SECRET_OPTION] = Field(
        max_length=32,
        title="AES key",
        description="The AES-128 key programmed into the YubiKey slot (32 hex digits).",
    )
    otplen: int = Field(
        default=44,
        ge=BLOCK_CHARS,
        le=BLOCK_CHARS + 32,
        title="OTP length",
        description="Characters the key types: the public id (12 by default) and 32.",
    )
    tokenid: str | None = Field(
        default=None,
        validation_alias=AliasChoices("yubikey.tokenid", "tokenid"),
        max_length=12,
        title="Private id",
        description="The private id (12 hex digits); empty: taken from the first OTP.",
    )

    @field_validator("otpkey")
    @classmethod
    def _key(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9a-fA-F]{32}", value.strip()):
            raise ValueError("otpkey must be 32 hex digits (AES-128)")
        return value.strip().lower()

    @field_validator("tokenid")
    @classmethod
    def _tokenid(cls, value: str | None) -> str | None:
        if value and not _PRIVATE_ID.match(value.strip().lower()):
            raise ValueError("the private id must be 12 hex digits")
        return value.strip().lower() if value else None


class YubikeyToken(TokenType):
    type_name = "yubikey"
    serial_prefix = "UBAM"
    InitParams: ClassVar[type[TokenInitParams]] = YubikeyInitParams
    owned_info_keys = TokenType.owned_info_keys | {TOKENID}
    #: The private id of the value :meth:`check_otp` matched last (for a token that
    #: learns its private id).
    _last_private_id: str = ""

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, YubikeyInitParams)
        self.store_secret(bytes.fromhex(params.otpkey))
        self.token.otplen = params.otplen
        self.token.otp_counter = 0
        self.set_info(TOKENID, params.tokenid or "")
        self.set_info("tokenkind", "hardware")
        return {}

    def decode(self, otp: str) -> tuple[str, int] | None:
        """(private id in hex, counter) of a value whose block decrypts with a right
        CRC; None otherwise."""
        if len(otp) != self.token.otplen:
            return None
        block = modhex_decode(otp[-BLOCK_CHARS:])
        if block is None:
            return None
        plain = aes_ecb(self.load_secret(), block, decrypt=True)
        if crc16(plain) != CRC_RESIDUE:
            return None
        usage = int.from_bytes(plain[6:8], "little")
        return plain[:6].hex(), usage << 8 | plain[11]

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        decoded = self.decode(otp)
        if decoded is None:
            return OtpCheck()
        private_id, counter = decoded
        known = self.info(TOKENID)
        if known and known != private_id:
            return OtpCheck()  # another key's value
        self._last_private_id = private_id
        return OtpCheck(counter) if counter >= self.token.otp_counter else OtpCheck(replay=True)

    def commit_otp(self, session: Session, counter: int) -> bool:
        return advance_counter(session, self.token, counter)

    def after_success(self, session: Session, counter: int, now: float) -> None:
        if not self.info(TOKENID):
            # Learnt from the first value accepted, as privacyIDEA does; its private
            # id is the one that just decrypted with the token's key.
            private_id = self._last_private_id
            if private_id:
                put_info(session, self.token.id, TOKENID, private_id)
