"""Paper token (TAN list): an HOTP token whose OTPs are printed at enrolment."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from factorflow.tokens.base import EnrollContext, TokenInitParams
from factorflow.tokens.oath import OathInitParams, hotp_value
from factorflow.tokens.types.hotp import HotpToken

DEFAULT_COUNT = 100


class PaperInitParams(OathInitParams):
    papertoken_count: int = Field(
        default=DEFAULT_COUNT,
        ge=1,
        le=1000,
        title="Number of TANs",
        description="How many OTPs are printed.",
    )


class PaperToken(HotpToken):
    """RFC 4226 HOTP; enrolment returns ``papertoken_count`` OTPs as
    ``detail.otps`` = {counter: otp} for counters 0 .. count-1. The key never leaves
    the server."""

    type_name = "paper"
    serial_prefix = "PPR"
    InitParams: ClassVar[type[TokenInitParams]] = PaperInitParams
    self_service = False

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, PaperInitParams)
        key = params.key_bytes()
        self._store_key(key, params)
        self.set_info("tokenkind", "hardware")
        otps = {
            str(counter): hotp_value(key, counter, params.otplen, params.hashlib)
            for counter in range(params.papertoken_count)
        }
        return {"otps": otps}
