"""Challenge OTPs computed at delivery, not at enqueue: a mail or SMS job carries only
the token's serial and the counter its challenge reserved (``tokens.sent``), and the
deliverer asks :class:`ChallengeOtps` for the value when it sends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from factorflow.crypto import SecretBox
from factorflow.db.base import transaction, utcnow
from factorflow.jobs.base import PermanentDeliveryError
from factorflow.registry import Registry
from factorflow.tokens.base import TokenType
from factorflow.tokens.models import Challenge, Token
from factorflow.tokens.sent import OTP_SOURCE, fill_otp
from factorflow.tokens.types.hotp import HotpToken


class ChallengeOtps:
    """``resolve_payload`` of the deliverers' ports: the payload with a challenge OTP
    computed now, from the token's key and the counter the challenge reserved; a
    challenge that expired or was answered before delivery is not sent any more (a
    permanent failure, not a retry)."""

    def __init__(
        self, sessions: sessionmaker[Session], types: Registry[TokenType], box: SecretBox
    ) -> None:
        self.sessions = sessions
        self.types = types
        self.box = box

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        if OTP_SOURCE not in payload:
            return payload
        with transaction(self.sessions) as session:
            return fill_otp(payload, lambda serial, counter: self._otp(session, serial, counter))

    def _otp(self, session: Session, serial: str, counter: int) -> str:
        token = session.scalar(select(Token).where(Token.serial == serial))
        if token is None:
            raise PermanentDeliveryError("The token of this challenge no longer exists")
        challenge = session.scalar(
            select(Challenge).where(
                Challenge.token_id == token.id, Challenge.otp_counter == counter
            )
        )
        if challenge is None or challenge.otp_valid or challenge.expiration <= utcnow():
            raise PermanentDeliveryError("The challenge expired or was answered before delivery")
        kind_cls = self.types.get(token.tokentype)
        kind = kind_cls(token, self.box) if kind_cls is not None else None
        if not isinstance(kind, HotpToken):
            raise PermanentDeliveryError(f"Token type {token.tokentype!r} sends no OTP")
        return kind.otp_at(counter)
