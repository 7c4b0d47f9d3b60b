"""mOTP: Mobile-OTP, the first six hex digits of MD5(epoch/10 || secret || mOTP PIN).

privacyIDEA's ``motp`` token, the public algorithm of motp.sourceforge.net: the app
holds the secret (an ASCII string, usually hex) and asks its user for the mOTP PIN
(``motppin``) each time; the counter is the unix time in ten-second steps, written in
decimal. The token PIN stays the usual PIN in front of the value.

The check tries ``count_window`` x 2 steps either side of now, as privacyIDEA does
(its default window of 10 gives about three minutes each way). ``otp_counter``
holds the last step used; only a later one is accepted, claimed with one
conditional ``UPDATE`` (:func:`~factorflow.tokens.base.claim_time_step`), so a value
is never accepted twice, nor an older one after a newer. The secret and the mOTP PIN
are stored together, encrypted with the token's secret.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Annotated, Any, ClassVar
from urllib.parse import quote, urlencode

from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from factorflow.core.describe import SECRET_OPTION
from factorflow.core.params import PiBool
from factorflow.errors import ParameterError
from factorflow.tokens.base import (
    EnrollContext,
    OtpCheck,
    TokenInitParams,
    TokenType,
    claim_time_step,
    constant_time_equal,
)
from factorflow.tokens.qr import png_data_uri

STEP_SECONDS = 10
DIGITS = 6
#: A generated secret: 16 random bytes in hex, as privacyIDEA generates one.
GENERATED_BYTES = 16


def motp_value(secret: str, pin: str, step: int, digits: int = DIGITS) -> str:
    """The mOTP value of ``step`` (unix time // 10)."""
    data = f"{step}{secret}{pin}".encode()
    # MD5 is what the algorithm is; it is no hash of a secret kept here.
    return hashlib.md5(data, usedforsecurity=False).hexdigest()[:digits]


def _printable(value: str, name: str) -> str:
    if not value.isascii() or not value.isprintable() or any(c.isspace() for c in value):
        raise ValueError(f"{name} must be printable ASCII without blanks")
    return value


class MotpInitParams(TokenInitParams):
    otpkey: Annotated[str | None, SECRET_OPTION] = Field(
        default=None,
        max_length=128,
        title="mOTP secret",
        description="The secret of the mOTP app (its init-secret); empty: the server "
        "generates one.",
    )
    genkey: PiBool = Field(
        default=False,
        title="Generate the secret on the server",
        description="The server generates the secret (also without this, when none is given).",
    )
    motppin: Annotated[str, SECRET_OPTION] = Field(
        min_length=1,
        max_length=64,
        title="mOTP PIN",
        description="The PIN the mOTP app asks for (not the token PIN).",
    )

    @field_validator("otpkey")
    @classmethod
    def _otpkey(cls, value: str | None) -> str | None:
        return _printable(value, "otpkey") if value else value

    @field_validator("motppin")
    @classmethod
    def _motppin(cls, value: str) -> str:
        return _printable(value, "motppin")

    def secret(self) -> str:
        if self.otpkey and self.genkey:
            raise ParameterError("You may either specify genkey or otpkey, but not both!")
        return self.otpkey or secrets.token_hex(GENERATED_BYTES)

    def given_key_length(self) -> int | None:
        return len(self.otpkey) // 2 if self.otpkey else None


class MotpToken(TokenType):
    type_name = "motp"
    serial_prefix = "PIMO"
    InitParams: ClassVar[type[TokenInitParams]] = MotpInitParams

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, MotpInitParams)
        secret = params.secret()
        self.store_secret(json.dumps({"secret": secret, "pin": params.motppin}).encode())
        self.token.otplen = DIGITS
        self.token.otp_counter = 0
        self.set_info("tokenkind", "software")
        if params.otpkey:
            return {}  # the app has it already
        query = urlencode({"secret": secret})
        url = f"motp://{quote(ctx.issuer)}/{quote(ctx.label, safe='@')}?{query}"
        return {"motpurl": {"description": "URL for MOTP token", "value": url,
                            "img": png_data_uri(url)}}  # fmt: skip

    def _material(self) -> tuple[str, str]:
        stored = json.loads(self.load_secret())
        return str(stored["secret"]), str(stored["pin"])

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        if len(otp) != self.token.otplen or not otp.isascii():
            return OtpCheck()
        secret, pin = self._material()
        current = int(now // STEP_SECONDS)
        reach = 2 * max(1, self.token.count_window)
        last = self.token.otp_counter
        for step in range(current - reach, current + reach + 1):
            if constant_time_equal(otp, motp_value(secret, pin, step, len(otp))):
                return OtpCheck(step) if step > last else OtpCheck(replay=True)
        return OtpCheck()

    def commit_otp(self, session: Session, counter: int) -> bool:
        return claim_time_step(session, self.token, counter)
