"""RADIUS token: the check is forwarded to a RADIUS server (RFC 2865) with pyrad.

privacyIDEA's ``radius`` token. Tokeninfo ``radius.identifier`` names a
``/radiusserver/`` configuration; ``radius.user`` is the User-Name sent (empty: the
token owner's login, as privacyIDEA's documentation says); ``radius.local_checkpin``
checks the PIN here and forwards only the OTP part (see
:mod:`factorflow.tokens.types.forwarding`). Access-Accept accepts; an
Access-Challenge becomes a challenge here (its Reply-Message the message, its State
kept with it) whose answer is forwarded with that State, as privacyIDEA passes it
through; anything else fails, and so does a server that does not answer in time
(logged). A second Access-Challenge to an answer fails too. The legacy
per-token ``radius.server`` / ``radius.secret`` and ``radius.system_settings`` (the
system-wide server of privacyIDEA 2) are not supported: a token needs
``radius.identifier``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import AliasChoices, Field
from sqlalchemy.orm import Session

from factorflow.core.describe import CHOICES_FROM
from factorflow.core.params import PiBool
from factorflow.errors import ParameterError
from factorflow.radius.client import RadiusReply, access_request
from factorflow.radius.service import RadiusService
from factorflow.tokens.base import EnrollContext, IssuedChallenge, OtpCheck, TokenInitParams
from factorflow.tokens.types.forwarding import ForwardingToken

log = logging.getLogger(__name__)

IDENTIFIER = "radius.identifier"
USER = "radius.user"
LOCAL_CHECKPIN = "radius.local_checkpin"
SYSTEM_SETTINGS = "radius.system_settings"
#: Challenge data: the State of the server's Access-Challenge, in hex.
STATE = "radius_state"
#: privacyIDEA's message when the Access-Challenge carries no Reply-Message.
PROMPT = "Enter your RADIUS tokencode:"


class RadiusInitParams(TokenInitParams):
    identifier: str = Field(
        default="",
        max_length=120,
        validation_alias=AliasChoices(IDENTIFIER, "radius_identifier"),
        title="RADIUS server",
        description="The RADIUS server configuration the checks go to.",
        json_schema_extra={CHOICES_FROM: "radius_servers"},
    )
    radius_user: str = Field(
        default="",
        max_length=253,
        validation_alias=AliasChoices(USER, "radius_user"),
        title="RADIUS user",
        description="The User-Name sent; empty: the token owner's login.",
    )
    local_checkpin: PiBool = Field(
        default=False,
        validation_alias=AliasChoices(LOCAL_CHECKPIN, "radius_local_checkpin"),
        title="Check the PIN locally",
        description="Check the PIN here and forward only the OTP (the last otplen characters).",
    )
    system_settings: PiBool = Field(
        default=False,
        validation_alias=AliasChoices(SYSTEM_SETTINGS),
        title="System settings",
        description="privacyIDEA 2's system-wide RADIUS server; not supported (name a server).",
    )
    otplen: int = Field(
        default=6, ge=1, le=64, title="OTP length", description="With a local PIN check."
    )


class RadiusToken(ForwardingToken):
    type_name = "radius"
    serial_prefix = "PIRA"
    InitParams: ClassVar[type[TokenInitParams]] = RadiusInitParams
    local_checkpin_key = LOCAL_CHECKPIN
    owned_info_keys = ForwardingToken.owned_info_keys | {IDENTIFIER, LOCAL_CHECKPIN}

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, RadiusInitParams)
        if not params.identifier:
            raise ParameterError(f"Missing parameter: {IDENTIFIER!r}")
        self.token.otplen = params.otplen
        self.set_info(IDENTIFIER, params.identifier)
        self.set_info(USER, params.radius_user)
        self.set_info(LOCAL_CHECKPIN, "1" if params.local_checkpin else "0")
        self.set_info("tokenkind", "virtual")
        return {}

    def enrolled(self, session: Session) -> None:
        identifier = self.info(IDENTIFIER)
        if RadiusService(self._box).servers.find(session, identifier) is None:
            raise ParameterError(
                f"Invalid parameter {IDENTIFIER!r}: no RADIUS server {identifier!r}"
            )

    def forward(self, session: Session, passw: str, data: Mapping[str, Any]) -> OtpCheck:
        settings = RadiusService(self._box).settings(session, self.info(IDENTIFIER))
        user = self.info(USER) or self.owner_login(session)
        state = data.get(STATE)
        answer = access_request(
            settings, user, passw, bytes.fromhex(state) if isinstance(state, str) else None
        )
        if answer.reply is RadiusReply.ACCEPT:
            return OtpCheck(0)
        log.info("radius token %s: %s answered %s for %r", self.token.serial,
                 settings.identifier, answer.reply.value, user)  # fmt: skip
        if answer.reply is RadiusReply.CHALLENGE and state is None:
            # privacyIDEA's pass-through: the server's question becomes a challenge
            # here, its State kept with it for the answer (RFC 2865 section 4.4).
            stored = {STATE: answer.state.hex()} if answer.state is not None else {}
            return OtpCheck(challenge=IssuedChallenge(answer.message or PROMPT, data=stored))
        return OtpCheck()
