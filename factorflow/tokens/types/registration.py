"""Registration code: a one-time password handed out once, deleted after first use."""

from __future__ import annotations

import secrets
import string
from typing import Any

from factorflow.tokens.base import (
    EnrollContext,
    OtpCheck,
    PinMode,
    TokenInitParams,
    TokenType,
    constant_time_equal,
)

CODE_LENGTH = 24
_ALPHABET = string.ascii_letters + string.digits


class RegistrationToken(TokenType):
    """A random 24-character code (letters and digits), returned once as
    ``detail.registrationcode`` and stored encrypted. No PIN: the whole ``pass`` is the
    code. The token deletes itself after the first successful authentication."""

    type_name = "registration"
    serial_prefix = "REG"
    pin_mode = PinMode.NONE
    deletes_after_success = True

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        code = "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))
        self.store_secret(code.encode())
        self.token.otplen = CODE_LENGTH
        self.set_info("tokenkind", "virtual")
        return {"registrationcode": code}

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        if not otp or len(otp) > 4 * CODE_LENGTH:
            return OtpCheck()
        return OtpCheck(0) if constant_time_equal(otp, self.load_secret().decode()) else OtpCheck()
