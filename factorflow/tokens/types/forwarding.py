"""The shared part of token types that forward the check to another server
(``radius``, ``remote``): privacyIDEA's "check the PIN locally" switch, the user the
request is made for, and a failed forward read as a failed check.

With ``<type>.local_checkpin`` off (the default) the whole ``pass`` — PIN and OTP —
goes to the other server and no PIN is checked here (the token's
:attr:`~factorflow.tokens.base.TokenType.pin_mode` is ``NONE``); with it on, the PIN
is checked here and only the last ``otplen`` characters are forwarded. Whether a
value may be used twice is the other server's business: the types declare no
one-time values. A server that cannot be asked makes the check fail (logged with the
server's name, never the password) and never an error of the request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from sqlalchemy.orm import Session, object_session

from factorflow.core.params import is_true
from factorflow.crypto import SecretBox
from factorflow.errors import FactorflowError, ServerError
from factorflow.tokens.base import OtpCheck, PinMode, TokenType
from factorflow.tokens.models import Token
from factorflow.tokens.ports import TypePorts

log = logging.getLogger(__name__)


class ForwardingToken(TokenType):
    #: The tokeninfo key of the "check the PIN locally" switch.
    local_checkpin_key: ClassVar[str] = ""
    one_time_values = False

    def __init__(self, token: Token, box: SecretBox, ports: TypePorts | None = None) -> None:
        super().__init__(token, box, ports)
        if not self.checks_pin_locally:
            # Per token, as privacyIDEA's check_pin_local: the class keeps PREPEND so
            # that enrolment stores the PIN a later switch to local checking needs.
            self.pin_mode = PinMode.NONE  # type: ignore[misc]

    @property
    def checks_pin_locally(self) -> bool:
        return is_true(self.info(self.local_checkpin_key))

    def session(self) -> Session:
        """The unit of work the token row belongs to (the check runs inside it)."""
        session = object_session(self.token)
        if session is None:
            raise ServerError("The token is not attached to a session.")
        return session

    def owner_login(self, session: Session) -> str:
        """The login of the token's owner ("" for none): the user forwarded for when
        the token names none."""
        owner = self.ports.owner(session, self.token)
        return owner.login if owner is not None else ""

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        return self.forwarded(otp, {})

    def check_challenge_answer(
        self, otp: str, sent_counter: int | None, data: Mapping[str, Any], now: float
    ) -> OtpCheck:
        """The answer to a challenge: forwarded with what the challenge stored (a
        RADIUS State); a local-PIN token's own challenge stored nothing."""
        return self.forwarded(otp, data)

    def forwarded(self, passw: str, data: Mapping[str, Any]) -> OtpCheck:
        try:
            return self.forward(self.session(), passw, data)
        except FactorflowError as exc:
            log.warning("%s token %s: the check failed: %s", self.type_name, self.token.serial,
                        exc.message)  # fmt: skip
            return OtpCheck()

    def forward(self, session: Session, passw: str, data: Mapping[str, Any]) -> OtpCheck:
        """Ask the other server about ``passw`` (``data``: of the challenge answered);
        ``OtpCheck(0)`` when it accepted. Raise a
        :class:`~factorflow.errors.FactorflowError` when it cannot be asked."""
        raise NotImplementedError
