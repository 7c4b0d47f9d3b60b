"""HOTP: event-based one-time passwords (RFC 4226)."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy.orm import Session

from factorflow.tokens.base import (
    EnrollContext,
    OtpCheck,
    TokenInitParams,
    TokenType,
    advance_counter,
    constant_time_equal,
)
from factorflow.tokens.oath import OathInitParams, enrolment_detail, hotp_value, otpauth_uri


class HotpToken(TokenType):
    """RFC 4226 HOTP. ``otp_counter`` is the next counter expected; a check tries
    ``otp_counter`` .. ``otp_counter + count_window - 1`` (look-ahead only, RFC 4226
    section 7.4) and an accepted OTP moves the counter past the match atomically."""

    type_name = "hotp"
    serial_prefix = "OATH"
    InitParams: ClassVar[type[TokenInitParams]] = OathInitParams
    self_service = True
    settable_info_keys = frozenset({"hashlib"})

    @property
    def hash_name(self) -> str:
        return self.info("hashlib", "sha1")

    def otp_at(self, counter: int) -> str:
        return hotp_value(self.load_secret(), counter, self.token.otplen, self.hash_name)

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, OathInitParams)
        key = params.key_bytes()
        self._store_key(key, params)
        uri = otpauth_uri("hotp", key, ctx, digits=params.otplen, hash_name=params.hashlib)
        return enrolment_detail(uri, key, ctx)

    def _store_key(self, key: bytes, params: OathInitParams) -> None:
        self.store_secret(key)
        self.token.otplen = params.otplen
        self.token.otp_counter = 0
        self.set_info("hashlib", params.hashlib)
        self.set_info("tokenkind", "software")

    def _well_formed(self, otp: str) -> bool:
        return len(otp) == self.token.otplen and otp.isascii() and otp.isdigit()

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        if not self._well_formed(otp):
            return OtpCheck()
        key, digits, hash_name = self.load_secret(), self.token.otplen, self.hash_name
        start, window = self.token.otp_counter, max(1, self.token.count_window)
        for counter in range(start, start + window):
            if constant_time_equal(otp, hotp_value(key, counter, digits, hash_name)):
                return OtpCheck(counter)
        for counter in range(max(0, start - window), start):
            if constant_time_equal(otp, hotp_value(key, counter, digits, hash_name)):
                return OtpCheck(replay=True)
        return OtpCheck()

    def commit_otp(self, session: Session, counter: int) -> bool:
        return advance_counter(session, self.token, counter)

    def resync(self, otp1: str, otp2: str, now: float) -> int | None:
        if not (self._well_formed(otp1) and self._well_formed(otp2)):
            return None
        key, digits, hash_name = self.load_secret(), self.token.otplen, self.hash_name
        start = self.token.otp_counter
        following = hotp_value(key, start, digits, hash_name)
        for counter in range(start, start + max(1, self.token.sync_window)):
            current, following = following, hotp_value(key, counter + 1, digits, hash_name)
            if constant_time_equal(otp1, current) and constant_time_equal(otp2, following):
                return counter + 1
        return None
