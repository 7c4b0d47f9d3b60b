"""pw: a fixed password behind the PIN, privacyIDEA's temporary "lost token".

privacyIDEA's ``pw`` token (serial prefix ``PW``). ``pass`` is PIN + password; the
password is the OTP part, so ``otplen`` is its length (set from the password; a
requested ``otplen`` is ignored, as in privacyIDEA). Unlike spass the password is not
the PIN, so the PIN stays the user's own while the help desk hands out the password.

The password is the request's ``otpkey``, or with ``genkey=1`` generated: ``pw.length``
characters (default 12) of the classes ``pw.contents`` names (default ``cn``, letters
and digits, one of each; the syntax of ``otp_pin_contents``: ``+cn`` any of them,
``-s`` none of them, ``[abc]`` only these). As in privacyIDEA the enrolment answers
the password as ``detail.password``. It is stored encrypted with the token's secret,
compared in constant time, and may be used more than once until the token's validity
period ends.
"""

from __future__ import annotations

import hmac
import re
from typing import Annotated, Any, ClassVar

from pydantic import Field

from factorflow.core.describe import SECRET_OPTION
from factorflow.core.params import PiBool
from factorflow.errors import ParameterError
from factorflow.tokens.base import EnrollContext, OtpCheck, TokenInitParams, TokenType

DEFAULT_LENGTH = 12
DEFAULT_CONTENTS = "cn"


class PwInitParams(TokenInitParams):
    otpkey: Annotated[str, SECRET_OPTION] = Field(
        default="",
        max_length=256,
        title="Password",
        description="The fixed password typed after the PIN; empty with genkey: generated.",
    )
    genkey: PiBool = Field(
        default=False,
        title="Generate the password",
        description="The server generates the password (pw.length, pw.contents).",
    )
    length: int = Field(
        default=DEFAULT_LENGTH,
        alias="pw.length",
        ge=1,
        le=256,
        title="Generated length",
        description="Characters of a generated password.",
    )
    contents: str = Field(
        default=DEFAULT_CONTENTS,
        alias="pw.contents",
        max_length=100,
        pattern=re.compile(r"^[+-]?[cns]+$|^\[.+\]$"),
        title="Generated contents",
        description="Character classes of a generated password: c letters, n digits, s special.",
    )


class PwToken(TokenType):
    type_name = "pw"
    serial_prefix = "PW"
    InitParams: ClassVar[type[TokenInitParams]] = PwInitParams
    one_time_values = False

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, PwInitParams)
        if params.otpkey and params.genkey:
            raise ParameterError("You may either specify genkey or otpkey, but not both!")
        password = params.otpkey or (_generated(params) if params.genkey else "")
        if not password:
            raise ParameterError("Missing parameter: 'otpkey'")
        self.set_password(password)
        return {"password": password}

    def set_password(self, password: str) -> None:
        self.store_secret(password.encode())
        self.token.otplen = len(password)
        self.set_info("tokenkind", "software")

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        if otp and hmac.compare_digest(otp.encode(), self.load_secret()):
            return OtpCheck(0)
        return OtpCheck()


def _generated(params: PwInitParams) -> str:
    # Imported here: the help desk's lost-token flow imports this module.
    from factorflow.tokens.helpdesk import pin_alphabets, random_secret

    required, pool = pin_alphabets(params.contents)
    return random_secret(params.length, required, pool)
