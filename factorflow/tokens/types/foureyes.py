"""4eyes: two or more people's tokens together (the two-man rule).

privacyIDEA's ``4eyes`` token (serial prefix ``PI4E``, a virtual token). Enrolment
names how many distinct tokens of which realms must take part (``4eyes``,
``realm1:2,realm2:1``, or the web UI's ``{"realm1": {"selected": true, "count": 2}}``;
tokeninfo ``4eyes``) and the one character that separates their passwords
(``separator``, a blank by default; tokeninfo ``separator``).

``pass`` is the members' PIN + OTP, in any order, joined by the separator
("pinA123456 pinB654321"); the 4eyes token itself checks no PIN. Each part is checked
against the usable tokens of the required realms as a login of that realm would be
(other 4eyes tokens excepted; :class:`~factorflow.tokens.base.RealmPass`); each part
and each token counts once. The pass is accepted when every realm has its number of
distinct tokens. The members' OTPs are claimed only together: a pass that falls
short leaves every member token as it was and counts a failure on the 4eyes token.
privacyIDEA's successive challenges (one member per step) are not offered; all
members enter their values in one pass.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from pydantic import Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.errors import ParameterError
from factorflow.tokens.base import (
    EnrollContext,
    OtpCheck,
    PinMode,
    RealmPass,
    TokenInitParams,
    TokenType,
)
from factorflow.users.models import Realm

REQUIRED_INFO = "4eyes"
SEPARATOR_INFO = "separator"
MAX_TOKENS = 20
_REALM_COUNT = re.compile(r"^([^:,\s]{1,120}):(\d{1,2})$")


def parse_required(text: str) -> dict[str, int]:
    """``realm1:2,realm2:1`` as {realm: number of tokens}; ValueError when malformed."""
    required: dict[str, int] = {}
    for item in text.split(","):
        match = _REALM_COUNT.match(item.strip())
        if match is None:
            raise ValueError(f"expected realm:count, got {item.strip()!r}")
        realm, count = match.group(1).lower(), int(match.group(2))
        if not 1 <= count <= MAX_TOKENS or realm in required:
            raise ValueError(f"each realm once, with 1..{MAX_TOKENS} tokens")
        required[realm] = count
    return required


def _from_web_ui(value: str) -> str:
    """The web UI's JSON object of selected realms and counts as ``realm:count,...``."""
    try:
        realms = json.loads(value)
    except ValueError:
        return value
    if not isinstance(realms, dict):
        raise ValueError("4eyes must be realm:count,... or an object of realms")
    chosen = [
        f"{name}:{entry.get('count')}"
        for name, entry in realms.items()
        if isinstance(entry, dict) and entry.get("selected")
    ]
    return ",".join(chosen)


class FourEyesInitParams(TokenInitParams):
    required: str = Field(
        alias="4eyes",
        max_length=2000,
        title="Required tokens",
        description="How many tokens of which realms must take part: realm1:2,realm2:1.",
    )
    separator: str = Field(
        default=" ",
        min_length=1,
        max_length=1,
        title="Separator",
        description="The character between the members' PIN + OTP values.",
    )

    @field_validator("required")
    @classmethod
    def _required(cls, value: str) -> str:
        text = _from_web_ui(value.strip())
        return ",".join(f"{realm}:{count}" for realm, count in parse_required(text).items())


class FourEyesToken(TokenType):
    type_name = "4eyes"
    serial_prefix = "PI4E"
    InitParams: ClassVar[type[TokenInitParams]] = FourEyesInitParams
    pin_mode = PinMode.NONE
    checks_realms = True
    owned_info_keys = TokenType.owned_info_keys | {REQUIRED_INFO, SEPARATOR_INFO}

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, FourEyesInitParams)
        self.set_info(REQUIRED_INFO, params.required)
        self.set_info(SEPARATOR_INFO, params.separator)
        self.set_info("tokenkind", "virtual")
        self.token.otplen = 0
        return {}

    def enrolled(self, session: Session) -> None:
        required = set(self.required())
        known = set(session.scalars(select(Realm.name).where(Realm.name.in_(required))))
        if required - known:
            raise ParameterError(f"Unknown realm: {', '.join(sorted(required - known))}")

    def required(self) -> dict[str, int]:
        try:
            return parse_required(self.info(REQUIRED_INFO))
        except ValueError:
            return {}  # a broken tokeninfo requires nothing it could satisfy: see below

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        return OtpCheck()  # only with the other tokens at hand (check_realms)

    def check_realms(self, otp: str, now: float, realm_pass: RealmPass) -> OtpCheck:
        required = self.required()
        if not required or not otp:
            return OtpCheck()
        parts = [part for part in otp.split(self.info(SEPARATOR_INFO) or " ") if part]
        for realm, count in required.items():
            found: set[str] = set()
            for part in list(parts):
                if len(found) >= count:
                    break
                serial = realm_pass(realm, part)
                if serial is not None and serial not in found:
                    found.add(serial)
                    parts.remove(part)  # a value counts once
            if len(found) < count:
                return OtpCheck()
        return OtpCheck(0)
