"""OCRA: the server asks a question, the token answers it (RFC 6287 challenge-response).

privacyIDEA's ``ocra`` token (serial prefix ``OCRA``). It is always challenge-response:
the PIN alone (or ``/validate/triggerchallenge``) gets a random question of the
suite's format and length, shown as the challenge's ``attributes.challenge`` with the
message "Please answer the challenge"; the answer is the OCRA response to that
question (``pass`` with the ``transaction_id``), accepted once, as the answer to its
own challenge. With the request parameter ``challenge`` (``/validate/check`` or
``/validate/triggerchallenge``) the question is that text instead (data to sign, e.g.
a transaction), with ``addrandomchallenge`` random letters and digits appended and,
with ``hashchallenge`` (sha1, sha256, sha512), hashed to hex; the challenge then also
shows ``original_challenge`` and its ``qrcode``, and a text the suite cannot take is
refused. The suite is tokeninfo ``ocrasuite`` (enrolment parameter
``ocrasuite``, privacyIDEA's default ``OCRA-1:HOTP-SHA1-8:QH40``); the key is the
request's ``otpkey`` (hex) or generated, stored encrypted. A challenge lives
``OcraChallengeValidityTime`` seconds (then ``DefaultChallengeValidityTime``).

Beyond privacyIDEA, which answers only question-only suites, suites with a counter
(``C-``: the answer may use ``otp_counter`` .. + ``count_window`` - 1 and moves the
counter past it, as HOTP does) and with time steps (``-T1M``...: the current and the
previous step) are answered too. Suites with a PIN hash (``-P``) or session
information (``-S``) are refused at enrolment: the PIN is stored only as an argon2
hash here, and there is no session information to hash.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from factorflow.core.describe import SECRET_OPTION
from factorflow.core.params import PiBool
from factorflow.errors import ParameterError
from factorflow.tokens.base import (
    ChallengeContext,
    ChallengeError,
    EnrollContext,
    IssuedChallenge,
    OtpCheck,
    TokenInitParams,
    TokenType,
    advance_counter,
    constant_time_equal,
)
from factorflow.tokens.oath import decode_key
from factorflow.tokens.ocra import OcraSuite, OcraSuiteError, ocra_response
from factorflow.tokens.qr import png_data_uri

DEFAULT_SUITE = "OCRA-1:HOTP-SHA1-8:QH40"
SUITE_INFO = "ocrasuite"
MESSAGE = "Please answer the challenge"
_KEY_SIZES = {"SHA1": 20, "SHA256": 32, "SHA512": 64}
_ALPHANUMERIC = string.ascii_letters + string.digits


def _hashed(challenge: str, hash_name: str) -> str:
    """privacyIDEA's ``hashchallenge``: sha256 / sha512 by name, any other value sha1."""
    if not hash_name:
        return challenge
    name = hash_name.lower() if hash_name.lower() in ("sha256", "sha512") else "sha1"
    return hashlib.new(name, challenge.encode()).hexdigest()


def answerable_suite(text: str) -> OcraSuite:
    """The suite parsed, refusing what a check here cannot compute (PIN, session)."""
    suite = OcraSuite.parse(text)
    if suite.pin_hash or suite.session_length:
        raise OcraSuiteError("suites with a PIN hash (P) or session (S) are not supported")
    return suite


class OcraInitParams(TokenInitParams):
    otpkey: Annotated[str | None, SECRET_OPTION] = Field(
        default=None,
        max_length=256,
        title="OCRA key",
        description="The token's HMAC key in hex; empty: the server generates one.",
    )
    genkey: PiBool = Field(
        default=False,
        title="Generate the key on the server",
        description="The server generates the key (also without this, when none is given).",
    )
    ocrasuite: str = Field(
        default=DEFAULT_SUITE,
        max_length=80,
        title="OCRA suite",
        description="RFC 6287 suite, e.g. OCRA-1:HOTP-SHA1-8:QH40 or OCRA-1:HOTP-SHA256-8:C-QN08.",
    )

    @field_validator("ocrasuite")
    @classmethod
    def _suite(cls, value: str) -> str:
        answerable_suite(value.strip().upper())  # OcraSuiteError is a ValueError: a 400
        return value.strip().upper()

    @field_validator("otpkey")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            decode_key(value, "hex")
            return value.strip()
        return None

    def given_key_length(self) -> int | None:
        return len(bytes.fromhex(self.otpkey)) if self.otpkey else None


class OcraToken(TokenType):
    type_name = "ocra"
    serial_prefix = "OCRA"
    InitParams: ClassVar[type[TokenInitParams]] = OcraInitParams
    challenge_response = True
    owned_info_keys = TokenType.owned_info_keys | {SUITE_INFO}
    challenge_validity_keys = ("OcraChallengeValidityTime",)

    @property
    def suite(self) -> OcraSuite:
        return answerable_suite(self.info(SUITE_INFO, DEFAULT_SUITE))

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, OcraInitParams)
        if params.otpkey and params.genkey:
            raise ParameterError("You may either specify genkey or otpkey, but not both!")
        suite = answerable_suite(params.ocrasuite)
        key = bytes.fromhex(params.otpkey) if params.otpkey else None
        generated = key is None
        key = key or secrets.token_bytes(_KEY_SIZES[suite.hash_name])
        self.store_secret(key)
        self.set_info(SUITE_INFO, suite.text)
        self.set_info("tokenkind", "software")
        # A response of truncation 0 is the whole HMAC in hex.
        self.token.otplen = suite.digits or 2 * _KEY_SIZES[suite.hash_name]
        self.token.otp_counter = 0
        if not generated:
            return {}
        return {"otpkey": {"description": "OCRA key", "value": key.hex()}}

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        return OtpCheck()  # only the answer to a question counts

    def check_answer(self, otp: str, sent_counter: int | None, now: float) -> OtpCheck:
        return OtpCheck()  # without the question there is nothing to compare

    def create_challenge(self, session: Session, ctx: ChallengeContext) -> IssuedChallenge:
        given = ctx.request.get("challenge")
        if not given:
            question = self.suite.random_question()
            return IssuedChallenge(
                message=MESSAGE, attributes={"challenge": question}, data={"challenge": question}
            )
        # Signing data the caller chose (a transaction): with random characters added,
        # shown as a QR code, hashed to hex when asked (privacyIDEA's options).
        count = ctx.request.get("addrandomchallenge", "")
        if count.isdigit():
            given += "".join(secrets.choice(_ALPHANUMERIC) for _ in range(int(count)))
        question = _hashed(given, ctx.request.get("hashchallenge", ""))
        if not self.suite.valid_question(question):
            raise ChallengeError(f"The challenge does not fit the OCRA suite {self.suite.text}.")
        attributes = {"original_challenge": given, "qrcode": png_data_uri(given)}
        return IssuedChallenge(
            message=MESSAGE,
            attributes={**attributes, "challenge": question},
            data={"challenge": question},
        )

    def response(self, question: str, *, counter: int | None = None, now: float = 0) -> str:
        """The response the token gives to ``question`` (at ``counter``, at ``now``)."""
        suite = self.suite
        steps = suite.time_steps(now) if suite.time_step else None
        return ocra_response(self.load_secret(), suite, question, counter=counter, timestamp=steps)

    def check_challenge_answer(
        self, otp: str, sent_counter: int | None, data: Mapping[str, Any], now: float
    ) -> OtpCheck:
        question = data.get("challenge")
        suite = self.suite
        if not isinstance(question, str) or not suite.valid_question(question):
            return OtpCheck()
        if len(otp) != self.token.otplen:
            return OtpCheck()
        key = self.load_secret()
        if suite.counter:
            start = self.token.otp_counter
            for counter in range(start, start + max(1, self.token.count_window)):
                if constant_time_equal(otp, ocra_response(key, suite, question, counter=counter)):
                    return OtpCheck(counter)
            return OtpCheck()
        if suite.time_step:
            # The question may have been shown in the step before the answer came.
            steps = suite.time_steps(now)
            for step in (steps, steps - 1):
                if constant_time_equal(otp, ocra_response(key, suite, question, timestamp=step)):
                    return OtpCheck(step)
            return OtpCheck()
        matched = constant_time_equal(otp, ocra_response(key, suite, question))
        return OtpCheck(0) if matched else OtpCheck()

    def commit_answer(self, session: Session, counter: int) -> bool:
        # The challenge row itself is claimed by the validate service: that makes the
        # answer one-time; a counter suite also moves its counter past the one used.
        return advance_counter(session, self.token, counter) if self.suite.counter else True
