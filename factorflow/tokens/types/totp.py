"""TOTP: time-based one-time passwords (RFC 6238)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from factorflow.core.describe import CHOICES
from factorflow.tokens.base import (
    EnrollContext,
    OtpCheck,
    TokenInitParams,
    TokenType,
    claim_time_step,
    constant_time_equal,
)
from factorflow.tokens.info import put_info
from factorflow.tokens.oath import OathInitParams, enrolment_detail, hotp_value, otpauth_uri

DEFAULT_TIME_WINDOW = 180


class TotpInitParams(OathInitParams):
    time_step: int = Field(
        default=30,
        alias="timeStep",
        title="Time step (seconds)",
        description="Seconds each OTP is valid for (RFC 6238's X).",
        json_schema_extra={CHOICES: [30, 60]},
    )
    time_window: int = Field(
        default=DEFAULT_TIME_WINDOW,
        alias="timeWindow",
        ge=0,
        le=86400,
        title="Time window (seconds)",
        description="How far the token's clock may drift from the server's.",
    )

    @field_validator("time_step")
    @classmethod
    def _time_step(cls, value: int) -> int:
        if value not in (30, 60):
            raise ValueError("timeStep must be 30 or 60")
        return value


class TotpToken(TokenType):
    """RFC 6238 TOTP: HOTP over T = floor((now + timeShift) / timeStep) with T0 = 0.

    A check tries the steps within ±timeWindow seconds of now. ``otp_counter`` holds
    the last step used; only a later step is accepted (replay protection), claimed
    with one conditional UPDATE. After a success ``timeShift`` follows the token's
    clock drift."""

    type_name = "totp"
    serial_prefix = "TOTP"
    InitParams: ClassVar[type[TokenInitParams]] = TotpInitParams
    self_service = True
    owned_info_keys = TokenType.owned_info_keys | {"timeStep", "timeWindow", "timeShift"}
    settable_info_keys = frozenset({"hashlib"})

    @property
    def hash_name(self) -> str:
        return self.info("hashlib", "sha1")

    @property
    def time_step(self) -> int:
        return max(1, self.info_int("timeStep", 30))

    @property
    def time_shift(self) -> int:
        return self.info_int("timeShift", 0)

    def current_step(self, now: float) -> int:
        return int((now + self.time_shift) // self.time_step)

    def otp_at_time(self, now: float) -> str:
        return self.otp_at_step(self.current_step(now))

    def otp_at_step(self, step: int) -> str:
        return hotp_value(self.load_secret(), step, self.token.otplen, self.hash_name)

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, TotpInitParams)
        key = params.key_bytes()
        self.store_secret(key)
        self.token.otplen = params.otplen
        self.token.otp_counter = 0
        self.set_info("hashlib", params.hashlib)
        self.set_info("tokenkind", "software")
        self.set_info("timeStep", str(params.time_step))
        self.set_info("timeWindow", str(params.time_window))
        self.set_info("timeShift", "0")
        uri = otpauth_uri(
            "totp",
            key,
            ctx,
            digits=params.otplen,
            hash_name=params.hashlib,
            period=params.time_step,
        )
        return enrolment_detail(uri, key, ctx)

    def _window(self) -> int:
        return self.info_int("timeWindow", DEFAULT_TIME_WINDOW) // self.time_step

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        if len(otp) != self.token.otplen or not (otp.isascii() and otp.isdigit()):
            return OtpCheck()
        key, digits, hash_name = self.load_secret(), self.token.otplen, self.hash_name
        current, window, last = self.current_step(now), self._window(), self.token.otp_counter
        for step in range(max(0, current - window), current + window + 1):
            if constant_time_equal(otp, hotp_value(key, step, digits, hash_name)):
                return OtpCheck(step) if step > last else OtpCheck(replay=True)
        return OtpCheck()

    def commit_otp(self, session: Session, counter: int) -> bool:
        return claim_time_step(session, self.token, counter)

    def after_success(self, session: Session, counter: int, now: float) -> None:
        drift = (counter - self.current_step(now)) * self.time_step
        if drift:
            put_info(session, self.token.id, "timeShift", str(self.time_shift + drift))

    def resync(self, otp1: str, otp2: str, now: float) -> int | None:
        if len(otp1) != self.token.otplen or len(otp2) != self.token.otplen:
            return None
        key, digits, hash_name = self.load_secret(), self.token.otplen, self.hash_name
        current, last = self.current_step(now), self.token.otp_counter
        reach = max(1, min(self.token.sync_window, 10_000))
        for step in range(max(last + 1, current - reach), current + reach):
            if constant_time_equal(
                otp1, hotp_value(key, step, digits, hash_name)
            ) and constant_time_equal(otp2, hotp_value(key, step + 1, digits, hash_name)):
                return step + 1
        return None
