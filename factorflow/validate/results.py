"""What ``/validate/*`` answers: the result of one check and privacyIDEA's messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from factorflow.tokens.models import Token
from factorflow.users.identity import User

MSG_MATCHED = "matching 1 tokens"
MSG_WRONG_PIN = "wrong otp pin"
MSG_WRONG_OTP = "wrong otp value"
MSG_REPLAY = "wrong otp value. previous otp used again"
#: privacyIDEA's answer for a token whose fail counter reached its maximum; given
#: whatever ``pass`` was, so that it tells nothing about the PIN.
MSG_LOCKED = "Failcounter exceeded"
MSG_NO_TOKENS = "The user has no tokens assigned"
MSG_NO_SUITABLE = "No suitable token found for authentication."
MSG_NO_CHALLENGE = "Response did not match the challenge."
MSG_CHALLENGE_MATCHED = "Found matching challenge"
MSG_CHALLENGE_EXPIRED = "Challenge expired"
MSG_CHALLENGE_ANSWERED = "The challenge has already been answered."
MSG_CHALLENGE_DECLINED = "The challenge was declined."
#: Rollout states in which a token cannot authenticate yet.
NOT_READY = frozenset({"clientwait", "verify", "pending", "broken", "failed", "denied"})


@dataclass
class CheckResult:
    """The answer of one check: ``accepted`` maps to result.value; ``challenge`` (the
    challenge detail) makes it a CHALLENGE answer, else ACCEPT or REJECT.
    ``answered`` marks the accepted answer to a challenge, whose detail names only
    the serial (privacyIDEA's "Found matching challenge")."""

    accepted: bool
    message: str
    token: Token | None = None
    token_type: str = ""
    user: User | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    challenge: dict[str, Any] | None = None
    answered: bool = False
    #: The user declined the challenge on their device (push): DECLINED.
    declined: bool = False

    @property
    def authentication(self) -> str:
        if self.challenge is not None:
            return "CHALLENGE"
        if self.declined:
            return "DECLINED"
        return "ACCEPT" if self.accepted else "REJECT"

    def detail(self) -> dict[str, Any]:
        if self.challenge is not None:
            return dict(self.challenge)
        detail: dict[str, Any] = {"message": self.message}
        if self.token is not None:
            detail["serial"] = self.token.serial
            if not self.answered:
                detail.update(type=self.token_type, otplen=self.token.otplen)
        detail.update(self.extra)
        return detail
