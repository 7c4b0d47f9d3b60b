"""spass: a static password. The whole ``pass`` is the token PIN; there is no OTP."""

from __future__ import annotations

from typing import Any

from factorflow.tokens.base import EnrollContext, OtpCheck, PinMode, TokenInitParams, TokenType


class SpassToken(TokenType):
    """The static password is the token PIN (argon2-hashed like every PIN), so a
    check succeeds exactly when the PIN does. ``otponly`` never skips the PIN here."""

    type_name = "spass"
    serial_prefix = "PISP"
    pin_mode = PinMode.WHOLE
    one_time_values = False

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        self.set_info("tokenkind", "software")
        return {}

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        return OtpCheck(0) if otp == "" else OtpCheck()
