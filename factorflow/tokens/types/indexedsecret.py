"""Indexed secret: the challenge asks for some positions of a secret the user knows.

privacyIDEA's ``indexedsecret`` token. The PIN alone gets a challenge naming random
positions (1-based, drawn independently, so one may repeat) of the shared secret:
"Please enter the positions 2,4 from your secret."; the answer is the characters at
those positions, concatenated ("ye" for "mySecret"), compared exactly. The policies
``indexedsecret_count`` (how many positions, default 2) and
``indexedsecret_challenge_text`` (the message; ``{0}`` stands for the positions)
of the authentication scope shape the challenge. There is no single-shot login with
PIN + secret, as in privacyIDEA; an answer is accepted once, as the answer to its
own challenge. privacyIDEA's multi-challenge variant (tokeninfo ``multichallenge``,
one position per step) is not supported.

The secret is the request's ``otpkey``, or with no ``otpkey`` 24 random letters and
digits the server generates and shows once; it is stored encrypted.
"""

from __future__ import annotations

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
    constant_time_equal,
)

DEFAULT_COUNT = 2
MAX_COUNT = 100
DEFAULT_TEXT = "Please enter the positions {0!s} from your secret."
GENERATED_LENGTH = 24
_ALPHABET = string.ascii_letters + string.digits


class IndexedSecretInitParams(TokenInitParams):
    otpkey: Annotated[str | None, SECRET_OPTION] = Field(
        default=None,
        max_length=256,
        title="Secret",
        description="The secret whose positions the challenges ask for; empty: generated.",
    )
    genkey: PiBool = Field(
        default=False,
        title="Generate the secret",
        description="The server generates the secret (also without this, when none is given).",
    )

    @field_validator("otpkey")
    @classmethod
    def _otpkey(cls, value: str | None) -> str | None:
        if value and not value.isprintable():
            raise ValueError("otpkey must be printable")
        return value


def challenge_text(template: str, positions: list[int]) -> str:
    """privacyIDEA's text with the positions in place of ``{0}`` / ``{0!s}`` (and
    ``\\,`` for a comma); nothing else in an admin's text is interpreted."""
    shown = ",".join(str(p) for p in positions)
    return template.replace("\\,", ",").replace("{0!s}", shown).replace("{0}", shown)


class IndexedSecretToken(TokenType):
    type_name = "indexedsecret"
    serial_prefix = "PIIX"
    InitParams: ClassVar[type[TokenInitParams]] = IndexedSecretInitParams
    challenge_response = True

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, IndexedSecretInitParams)
        if params.otpkey and params.genkey:
            raise ParameterError("You may either specify genkey or otpkey, but not both!")
        secret = params.otpkey or "".join(
            secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH)
        )
        self.store_secret(secret.encode())
        self.token.otp_counter = 0
        self.set_info("tokenkind", "software")
        if params.otpkey:
            return {}
        return {"otpkey": {"description": "The secret", "value": secret}}

    def _secret(self) -> str:
        return self.load_secret().decode()

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        return OtpCheck()  # only the answer to a challenge counts

    def create_challenge(self, session: Session, ctx: ChallengeContext) -> IssuedChallenge:
        length = len(self._secret())
        if not length:
            raise ChallengeError("The indexed secret token has an empty secret.")
        count = _count(ctx.options)
        positions = [secrets.randbelow(length) + 1 for _ in range(count)]
        template = ctx.options.get("indexedsecret_challenge_text") or DEFAULT_TEXT
        return IssuedChallenge(
            message=challenge_text(template, positions),
            attributes={"random_positions": positions},
            data={"positions": positions},
        )

    def check_challenge_answer(
        self, otp: str, sent_counter: int | None, data: Mapping[str, Any], now: float
    ) -> OtpCheck:
        positions = data.get("positions")
        if not isinstance(positions, list) or len(otp) != len(positions):
            return OtpCheck()
        secret = self._secret()
        if not all(isinstance(p, int) and 1 <= p <= len(secret) for p in positions):
            return OtpCheck()
        expected = "".join(secret[p - 1] for p in positions)
        return OtpCheck(0) if constant_time_equal(otp, expected) else OtpCheck()

    def check_answer(self, otp: str, sent_counter: int | None, now: float) -> OtpCheck:
        return OtpCheck()  # without the positions there is nothing to compare


def _count(options: Mapping[str, str]) -> int:
    value = options.get("indexedsecret_count", "")
    return min(int(value), MAX_COUNT) if value.isdigit() and int(value) > 0 else DEFAULT_COUNT
