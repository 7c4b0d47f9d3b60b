"""Remote token: the check is forwarded to another privacyIDEA-compatible server.

privacyIDEA's ``remote`` token. Tokeninfo ``remote.server_id`` names a
``/privacyideaserver/`` configuration; the remote's ``/validate/check`` gets
``remote.serial`` (the user is then ignored) or the user ``remote.user`` (empty: the
token owner's login) with ``remote.realm`` and ``remote.resolver`` when set;
``remote.local_checkpin`` checks the PIN here and forwards only the OTP part (see
:mod:`factorflow.tokens.types.forwarding`). The remote's ``result.value`` decides; the
serial of the remote token that matched is kept in ``last_matching_remote_serial``.
A remote that cannot be asked fails the check, logged. The deprecated direct URL
(``remote.server``) is not supported: a token needs ``remote.server_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import AliasChoices, Field
from sqlalchemy.orm import Session

from factorflow.core.describe import CHOICES_FROM
from factorflow.core.params import PiBool
from factorflow.errors import ParameterError
from factorflow.tokens.base import EnrollContext, OtpCheck, TokenInitParams
from factorflow.tokens.info import put_info
from factorflow.tokens.types.forwarding import ForwardingToken

SERVER_ID = "remote.server_id"
SERIAL = "remote.serial"
USER = "remote.user"
REALM = "remote.realm"
RESOLVER = "remote.resolver"
LOCAL_CHECKPIN = "remote.local_checkpin"
LAST_SERIAL = "last_matching_remote_serial"


def _text(key: str, title: str, description: str, limit: int = 255) -> Any:
    return Field(
        default="",
        max_length=limit,
        validation_alias=AliasChoices(key, key.replace(".", "_")),
        title=title,
        description=description,
    )


class RemoteInitParams(TokenInitParams):
    server_id: str = Field(
        default="",
        max_length=120,
        validation_alias=AliasChoices(SERVER_ID, "remote_server_id"),
        title="Remote server",
        description="The privacyIDEA server (see /privacyideaserver/) the checks go to.",
        json_schema_extra={CHOICES_FROM: "privacyidea_servers"},
    )
    remote_serial: str = _text(SERIAL, "Remote serial", "Check this token there (no user).", 64)
    remote_user: str = _text(USER, "Remote user", "The user there; empty: the owner's login.")
    remote_realm: str = _text(REALM, "Remote realm", "The user's realm there.")
    remote_resolver: str = _text(RESOLVER, "Remote resolver", "The user's resolver there.")
    local_checkpin: PiBool = Field(
        default=False,
        validation_alias=AliasChoices(LOCAL_CHECKPIN, "remote_local_checkpin"),
        title="Check the PIN locally",
        description="Check the PIN here and forward only the OTP (the last otplen characters).",
    )
    otplen: int = Field(
        default=6, ge=1, le=64, title="OTP length", description="With a local PIN check."
    )


class RemoteToken(ForwardingToken):
    type_name = "remote"
    serial_prefix = "PIRE"
    InitParams: ClassVar[type[TokenInitParams]] = RemoteInitParams
    local_checkpin_key = LOCAL_CHECKPIN
    owned_info_keys = ForwardingToken.owned_info_keys | {SERVER_ID, LOCAL_CHECKPIN, LAST_SERIAL}
    #: The serial of the remote token that accepted the last forwarded check.
    _matched_serial: str = ""

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, RemoteInitParams)
        if not params.server_id:
            raise ParameterError(f"Missing parameter: {SERVER_ID!r}")
        self.token.otplen = params.otplen
        self.set_info(SERVER_ID, params.server_id)
        self.set_info(SERIAL, params.remote_serial)
        self.set_info(USER, params.remote_user)
        self.set_info(REALM, params.remote_realm)
        self.set_info(RESOLVER, params.remote_resolver)
        self.set_info(LOCAL_CHECKPIN, "1" if params.local_checkpin else "0")
        self.set_info("tokenkind", "virtual")
        return {}

    def enrolled(self, session: Session) -> None:
        server_id = self.info(SERVER_ID)
        if not self.ports.remote_servers.exists(session, server_id):
            raise ParameterError(
                f"Invalid parameter {SERVER_ID!r}: no privacyIDEA server {server_id!r}"
            )

    def forward(self, session: Session, passw: str, data: Mapping[str, Any]) -> OtpCheck:
        params = {"pass": passw}
        if self.info(SERIAL):
            params["serial"] = self.info(SERIAL)
        else:
            params["user"] = self.info(USER) or self.owner_login(session)
            params.update({k: v for k, v in (("realm", self.info(REALM)),
                                             ("resolver", self.info(RESOLVER))) if v})  # fmt: skip
        body = self.ports.remote_servers.check(session, self.info(SERVER_ID), params)
        result = body.get("result", {})
        accepted = result.get("status") is True and result.get("value") is True
        detail = body.get("detail")
        if accepted and isinstance(detail, dict) and isinstance(detail.get("serial"), str):
            self._matched_serial = detail["serial"]
        return OtpCheck(0) if accepted else OtpCheck()

    def after_success(self, session: Session, counter: int, now: float) -> None:
        if self._matched_serial:
            put_info(session, self.token.id, LAST_SERIAL, self._matched_serial)
