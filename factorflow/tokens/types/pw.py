"""pw: a fixed password behind the PIN, privacyIDEA's temporary "lost token".

``pass`` is PIN + password; the password is the OTP part (``otplen`` is its
length). Unlike spass the password is not the PIN, so the PIN stays the user's own
while the help desk hands out the password. The password is stored encrypted with
the token's secret and compared in constant time; it may be used more than once
until the token's validity period ends.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, ClassVar

from pydantic import Field

from factorflow.core.describe import SECRET_OPTION
from factorflow.errors import ParameterError
from factorflow.tokens.base import EnrollContext, OtpCheck, TokenInitParams, TokenType


class PwInitParams(TokenInitParams):
    otpkey: Annotated[str, SECRET_OPTION] = Field(
        default="",
        max_length=256,
        title="Password",
        description="The fixed password typed after the PIN.",
    )


class PwToken(TokenType):
    type_name = "pw"
    serial_prefix = "PW"
    InitParams: ClassVar[type[TokenInitParams]] = PwInitParams
    one_time_values = False

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, PwInitParams)
        if not params.otpkey:
            raise ParameterError("Missing parameter: 'otpkey'")
        self.set_password(params.otpkey)
        return {}

    def set_password(self, password: str) -> None:
        self.store_secret(password.encode())
        self.token.otplen = len(password)
        self.set_info("tokenkind", "software")

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        if otp and hmac.compare_digest(otp.encode(), self.load_secret()):
            return OtpCheck(0)
        return OtpCheck()
