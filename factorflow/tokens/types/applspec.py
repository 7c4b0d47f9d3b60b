"""Application-specific password: a fixed password behind the PIN, for one service only.

privacyIDEA's ``applspec`` token (3.9): a :mod:`pw <factorflow.tokens.types.pw>`
token bound to a ``service_id`` (tokeninfo ``service_id``: "mailserver", "owncloud").
``/validate/check`` uses it only when the request carries the same ``service_id``
(compared ignoring case); a request without one, or with another, leaves the token
out altogether — no PIN checked, nothing counted — while the user's other tokens are
tried as usual. A request manipulation event (RequestMangler) may set the parameter
for clients that cannot.

The password is the request's ``otpkey``, or with ``genkey`` 23 letters and digits
the server generates and shows once (``detail.password``). It is stored encrypted
and may be used again until the token is disabled or removed.
"""

from __future__ import annotations

import string
from typing import Any, ClassVar

from pydantic import Field, field_validator

from factorflow.core.params import PiBool
from factorflow.errors import ParameterError
from factorflow.tokens.base import CheckContext, EnrollContext, TokenInitParams, TokenType
from factorflow.tokens.helpdesk import random_secret
from factorflow.tokens.types.pw import PwInitParams, PwToken

#: privacyIDEA's length and classes of a generated application-specific password.
GENERATED_LENGTH = 23
SERVICE_ID = "service_id"


class ApplspecInitParams(PwInitParams):
    service_id: str = Field(
        min_length=1,
        max_length=255,
        title="Service",
        description="The service this password is for; /validate/check must name it.",
    )
    genkey: PiBool = Field(
        default=False,
        title="Generate the password",
        description="The server generates the password and shows it once.",
    )

    @field_validator("service_id")
    @classmethod
    def _service_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("service_id must not be blank")
        return value.strip()


class ApplspecToken(PwToken):
    type_name = "applspec"
    serial_prefix = "ASPW"
    InitParams: ClassVar[type[TokenInitParams]] = ApplspecInitParams
    owned_info_keys = TokenType.owned_info_keys | {SERVICE_ID}

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, ApplspecInitParams)
        if params.otpkey and params.genkey:
            raise ParameterError("You may either specify genkey or otpkey, but not both!")
        if not params.otpkey and not params.genkey:
            raise ParameterError("Missing parameter: 'otpkey'")
        password = params.otpkey or random_secret(
            GENERATED_LENGTH,
            [string.ascii_letters, string.digits],
            string.ascii_letters + string.digits,
        )
        self.set_password(password)
        self.set_info(SERVICE_ID, params.service_id)
        return {"password": password} if params.genkey else {}

    def used_for(self, ctx: CheckContext) -> bool:
        mine = self.info(SERVICE_ID)
        return bool(ctx.service_id and mine) and ctx.service_id.lower() == mine.lower()
