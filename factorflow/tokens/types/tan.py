"""TAN list: transaction numbers printed at enrolment, each usable once, in any order.

privacyIDEA's ``tan`` token. Enrolment takes the TANs (``tans``, separated by
whitespace, as privacyIDEA's OATH CSV import carries them) or generates
``tantoken_count`` random ones of ``otplen`` digits and answers them once as
``detail.otps`` = {index: TAN}, the paper token's shape.

No TAN is stored readable: the token keeps a random key (encrypted with the token's
secret) and tokeninfo ``tan.tan<index>`` holds HMAC-SHA256(key, TAN), so neither a
tokeninfo listing nor a database dump tells a TAN (six digits hashed without a key
would be guessed in a moment). A check computes the HMAC once and looks for the row
holding it; using a TAN rewrites its row to ``used:<hmac>`` with one conditional
``UPDATE``, so of concurrent requests with one TAN exactly one succeeds and a used
TAN is told apart (a replay) from a wrong one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, ClassVar

from pydantic import AliasChoices, Field, field_validator
from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from factorflow.core.describe import CHOICES
from factorflow.errors import ParameterError
from factorflow.tokens.base import EnrollContext, OtpCheck, TokenInitParams, TokenType
from factorflow.tokens.info import delete_info
from factorflow.tokens.models import TokenInfo

DEFAULT_COUNT = 100
MAX_TANS = 1000
#: Tokeninfo key of the TAN at an index (privacyIDEA's name).
KEY_PREFIX = "tan.tan"
USED = "used:"
_KEY_BYTES = 32


class TanInitParams(TokenInitParams):
    tans: str | None = Field(
        default=None,
        max_length=40_000,
        title="TANs",
        description="The TANs, separated by blanks (empty: the server generates them).",
    )
    tantoken_count: int = Field(
        default=DEFAULT_COUNT,
        ge=1,
        le=MAX_TANS,
        validation_alias=AliasChoices("tantoken_count", "tan.count"),
        title="Number of TANs",
        description="How many TANs the server generates.",
    )
    otplen: int = Field(
        default=6,
        validation_alias=AliasChoices("otplen", "tan.tanlength"),
        title="TAN length",
        description="Digits of each generated TAN.",
        json_schema_extra={CHOICES: [6, 8]},
    )

    @field_validator("otplen")
    @classmethod
    def _otplen(cls, value: int) -> int:
        if value not in (6, 8):
            raise ValueError("otplen must be 6 or 8")
        return value

    def given_tans(self) -> list[str] | None:
        """The TANs the request supplies, checked; None when the server generates them."""
        if self.tans is None or not self.tans.strip():
            return None
        tans = self.tans.split()
        if len(tans) > MAX_TANS:
            raise ParameterError(f"Invalid parameter 'tans': at most {MAX_TANS} TANs")
        lengths = {len(tan) for tan in tans}
        # pass is PIN + TAN: the TAN is told by its length, so every TAN has one length.
        if len(lengths) != 1:
            raise ParameterError("Invalid parameter 'tans': all TANs must have the same length")
        if not 4 <= lengths.pop() <= 32:
            raise ParameterError("Invalid parameter 'tans': a TAN has 4 to 32 characters")
        if len(set(tans)) != len(tans):
            raise ParameterError("Invalid parameter 'tans': a TAN is given twice")
        return tans


class _OwnedKeys(frozenset[str]):
    """The generic owned keys and every ``tan.tan<index>``: /token/info may neither
    add a TAN nor strike one out."""

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key.startswith(KEY_PREFIX) or super().__contains__(key))


class TanToken(TokenType):
    type_name = "tan"
    serial_prefix = "PITN"
    InitParams: ClassVar[type[TokenInitParams]] = TanInitParams
    owned_info_keys = _OwnedKeys(TokenType.owned_info_keys)

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, TanInitParams)
        given = params.given_tans()
        tans = given if given is not None else _generate(params.tantoken_count, params.otplen)
        key = secrets.token_bytes(_KEY_BYTES)
        self.store_secret(key)
        self.token.otplen = len(tans[0])
        self.token.otp_counter = 0
        for index, tan in enumerate(tans):
            self.set_info(f"{KEY_PREFIX}{index}", _mac(key, tan))
        # Re-enrolment replaces the list: rows of the old one are overwritten above
        # (a delete and insert of one key in one flush would collide), the rest go.
        for item in list(self.token.info):
            if item.key.startswith(KEY_PREFIX) and not 0 <= _index(item.key) < len(tans):
                delete_info(self.token, item.key)
        self.set_info("tokenkind", "hardware")
        if given is not None:
            return {}  # the user has them already
        return {"otps": {str(index): tan for index, tan in enumerate(tans)}}

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        if len(otp) != self.token.otplen:
            return OtpCheck()
        mac = _mac(self.load_secret(), otp)
        for item in self.token.info:
            if not item.key.startswith(KEY_PREFIX):
                continue
            if hmac.compare_digest(item.value, mac):
                return OtpCheck(_index(item.key))
            if hmac.compare_digest(item.value, USED + mac):
                return OtpCheck(replay=True)
        return OtpCheck()

    def commit_otp(self, session: Session, counter: int) -> bool:
        key = f"{KEY_PREFIX}{counter}"
        item = next((i for i in self.token.info if i.key == key), None)
        if item is None or item.value.startswith(USED):
            return False
        stmt = (
            update(TokenInfo)
            .where(
                TokenInfo.token_id == self.token.id,
                TokenInfo.key == key,
                TokenInfo.value == item.value,
            )
            .values(value=USED + item.value)
        )
        result = session.execute(stmt, execution_options={"synchronize_session": False})
        assert isinstance(result, CursorResult)
        if result.rowcount != 1:  # a concurrent request used it first
            return False
        set_committed_value(item, "value", USED + item.value)
        return True


def _generate(count: int, digits: int) -> list[str]:
    tans: dict[str, None] = {}
    while len(tans) < count:  # distinct, so that each index is one TAN
        tans[f"{secrets.randbelow(10**digits):0{digits}d}"] = None
    return list(tans)


def _mac(key: bytes, tan: str) -> str:
    return hmac.new(key, tan.encode(), hashlib.sha256).hexdigest()


def _index(key: str) -> int:
    suffix = key[len(KEY_PREFIX) :]
    return int(suffix) if suffix.isdigit() else -1
