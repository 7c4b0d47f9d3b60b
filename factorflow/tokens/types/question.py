"""Questionnaire: the challenge is one of the user's own questions, the answer theirs.

privacyIDEA's ``question`` token. Enrolment takes ``questions``, a JSON object of
question → answer, at least as many as the system setting ``question.num_answers``
says (default 5, privacyIDEA's). The PIN alone gets a challenge whose message is a
random question; the answer must equal the one enrolled, case and all (privacyIDEA
compares exactly). With the authentication policy ``question_number`` = n, n
questions must be answered in a row within one transaction: each right answer but
the last is answered with the next challenge, a question not asked yet in this
transaction (all asked: they may come again). An answer is accepted once.

Questions and answers are stored together, encrypted with the token's secret; the
challenge keeps only the question it asked.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from factorflow.core.describe import SECRET_OPTION
from factorflow.errors import ParameterError
from factorflow.tokens.base import (
    ChallengeContext,
    EnrollContext,
    IssuedChallenge,
    OtpCheck,
    TokenInitParams,
    TokenType,
    constant_time_equal,
)
from factorflow.tokens.sent import system_setting

DEFAULT_NUM_ANSWERS = 5
MAX_QUESTIONS = 100
MAX_IN_A_ROW = 30
#: The system setting with the least number of answers (privacyIDEA's name; catalogued
#: in factorflow/system/catalog.py with this type's challenge lifetime).
NUM_ANSWERS_SETTING = "question.num_answers"


class QuestionInitParams(TokenInitParams):
    questions: Annotated[str, SECRET_OPTION] = Field(
        max_length=100_000,
        title="Questions and answers",
        description='A JSON object of question to answer: {"First pet?": "Rex", ...}.',
    )

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: str) -> str:
        parse_questions(value)
        return value


def parse_questions(text: str) -> dict[str, str]:
    """The questions of a ``questions`` parameter; ValueError when it is not a JSON
    object of non-empty question strings to non-empty answer strings."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError("questions must be a JSON object of question to answer") from None
    if not isinstance(data, dict) or not data:
        raise ValueError("questions must be a JSON object of question to answer")
    if len(data) > MAX_QUESTIONS:
        raise ValueError(f"at most {MAX_QUESTIONS} questions")
    for question, answer in data.items():
        if not question.strip() or len(question) > 500:
            raise ValueError("a question must have 1 to 500 characters")
        if not isinstance(answer, str) or not answer or len(answer) > 500:
            raise ValueError("an answer must be a text of 1 to 500 characters")
    return data


class QuestionToken(TokenType):
    type_name = "question"
    serial_prefix = "QUST"
    InitParams: ClassVar[type[TokenInitParams]] = QuestionInitParams
    challenge_response = True
    challenge_validity_keys = ("QuestionChallengeValidityTime",)

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, QuestionInitParams)
        questions = parse_questions(params.questions)
        self.store_secret(json.dumps(questions).encode())
        self.token.otp_counter = 0
        self.set_info("tokenkind", "software")
        return {}

    def enrolled(self, session: Session) -> None:
        wanted = system_setting(session, NUM_ANSWERS_SETTING).strip()
        least = int(wanted) if wanted.isdigit() else DEFAULT_NUM_ANSWERS
        if len(self._questions()) < least:
            raise ParameterError(f"You need to provide at least {least} answers.")

    def _questions(self) -> dict[str, str]:
        stored: dict[str, str] = json.loads(self.load_secret())
        return stored

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        return OtpCheck()  # only the answer to a challenge counts

    def check_answer(self, otp: str, sent_counter: int | None, now: float) -> OtpCheck:
        return OtpCheck()  # without the question there is nothing to compare

    def create_challenge(self, session: Session, ctx: ChallengeContext) -> IssuedChallenge:
        return self._ask([], 1)

    def _ask(self, asked: list[str], step: int) -> IssuedChallenge:
        questions = list(self._questions())
        fresh = [q for q in questions if q not in asked]
        if not fresh:  # every question asked: a new round
            fresh, asked = questions, []
        question = secrets.choice(fresh)
        return IssuedChallenge(
            message=question, data={"question": question, "asked": [*asked, question], "step": step}
        )

    def check_challenge_answer(
        self, otp: str, sent_counter: int | None, data: Mapping[str, Any], now: float
    ) -> OtpCheck:
        expected = self._questions().get(str(data.get("question", "")))
        if not otp or expected is None:
            return OtpCheck()
        return OtpCheck(0) if constant_time_equal(otp, expected) else OtpCheck()

    def next_challenge(
        self, session: Session, data: Mapping[str, Any], ctx: ChallengeContext
    ) -> IssuedChallenge | None:
        step = data.get("step")
        asked = data.get("asked")
        if not isinstance(step, int) or not isinstance(asked, list):
            return None
        if step >= _in_a_row(ctx.options):
            return None
        return self._ask([str(q) for q in asked], step + 1)


def _in_a_row(options: Mapping[str, str]) -> int:
    value = options.get("question_number", "")
    return min(int(value), MAX_IN_A_ROW) if value.isdigit() and int(value) > 0 else 1
