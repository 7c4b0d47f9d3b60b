"""Day password: an RFC 6238 value that stays valid, and reusable, for its whole time step.

privacyIDEA's ``daypassword`` token (3.9): TOTP with a long, free time step
(``timeStep``, default one day) where, unlike TOTP, the value of the current step may
be used any number of times — a password that changes every day (hour, ...). Only
the current step counts: there is no window and no drift to follow, as in
privacyIDEA. ``otp_counter`` records the last step used.
"""

from __future__ import annotations

import base64
import re
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from pydantic import Field, field_validator
from sqlalchemy import update
from sqlalchemy.orm import Session

from factorflow.tokens.base import (
    EnrollContext,
    OtpCheck,
    TokenInitParams,
    TokenType,
    constant_time_equal,
)
from factorflow.tokens.models import Token
from factorflow.tokens.oath import OathInitParams, enrolment_detail, hotp_value

DEFAULT_TIME_STEP = 86400
MAX_TIME_STEP = 366 * 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}
_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhdy]?)\s*$", re.IGNORECASE)


def parse_time_step(value: str) -> int | None:
    """Seconds of a time step written as privacyIDEA writes them: a number of seconds
    or a number with a unit ``s``, ``m``, ``h``, ``d``, ``y`` (``24h``, ``1d``); None
    when it is not one or lies outside 1 s .. 366 days."""
    match = _DURATION.match(value)
    if match is None:
        return None
    seconds = int(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
    return seconds if 1 <= seconds <= MAX_TIME_STEP else None


class DayPasswordInitParams(OathInitParams):
    time_step: str = Field(
        default=str(DEFAULT_TIME_STEP),
        alias="timeStep",
        max_length=20,
        title="Time step",
        description="How long each password is valid: seconds, or a number with s, m, h, d "
        "or y (24h).",
    )

    @field_validator("time_step")
    @classmethod
    def _time_step(cls, value: str) -> str:
        seconds = parse_time_step(value)
        if seconds is None:
            raise ValueError("timeStep must be a duration from 1s to 366d, e.g. 86400 or 24h")
        return str(seconds)


class DayPasswordToken(TokenType):
    type_name = "daypassword"
    serial_prefix = "DYPW"
    InitParams: ClassVar[type[TokenInitParams]] = DayPasswordInitParams
    #: The password of the current step is accepted again until the step ends.
    one_time_values = False
    owned_info_keys = TokenType.owned_info_keys | {"timeStep"}
    settable_info_keys = frozenset({"hashlib"})

    @property
    def hash_name(self) -> str:
        return self.info("hashlib", "sha1")

    @property
    def time_step(self) -> int:
        return parse_time_step(self.info("timeStep")) or DEFAULT_TIME_STEP

    def current_step(self, now: float) -> int:
        return int(now // self.time_step)

    def password_at(self, now: float) -> str:
        step = self.current_step(now)
        return hotp_value(self.load_secret(), step, self.token.otplen, self.hash_name)

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, DayPasswordInitParams)
        key = params.key_bytes()
        self.store_secret(key)
        self.token.otplen = params.otplen
        self.token.otp_counter = 0
        self.set_info("hashlib", params.hashlib)
        self.set_info("tokenkind", "software")
        self.set_info("timeStep", params.time_step)
        return enrolment_detail(self._uri(key, ctx, params), key, ctx)

    @staticmethod
    def _uri(key: bytes, ctx: EnrollContext, params: DayPasswordInitParams) -> str:
        # privacyIDEA's form: otpauth://daypassword/<label>?secret=..&period=<seconds>
        query = {
            "secret": base64.b32encode(key).decode().rstrip("="),
            "issuer": ctx.issuer,
            "algorithm": params.hashlib.upper(),
            "digits": params.otplen,
            "period": params.time_step,
        }
        label = quote(f"{ctx.issuer}:{ctx.label}", safe=":@")
        return f"otpauth://daypassword/{label}?{urlencode(query)}"

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        if len(otp) != self.token.otplen or not (otp.isascii() and otp.isdigit()):
            return OtpCheck()
        if constant_time_equal(otp, self.password_at(now)):
            return OtpCheck(self.current_step(now))
        return OtpCheck()

    def commit_otp(self, session: Session, counter: int) -> bool:
        # Nothing to claim (the value may be used again); the counter only records
        # the last step used, and never moves back.
        stmt = (
            update(Token)
            .where(Token.id == self.token.id, Token.otp_counter < counter)
            .values(otp_counter=counter)
        )
        session.execute(stmt, execution_options={"synchronize_session": False})
        return True
