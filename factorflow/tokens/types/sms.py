"""SMS token: an HOTP value (RFC 4226) texted to the user on each challenge."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AliasChoices, Field

from factorflow.core.describe import CHOICES_FROM
from factorflow.core.params import PiBool
from factorflow.notify import sms
from factorflow.notify.models import SmsGateway
from factorflow.tokens.base import Delivery, TokenInitParams
from factorflow.tokens.sent import SentOtpInitParams, SentOtpToken


class SmsInitParams(SentOtpInitParams):
    phone: str | None = Field(
        default=None,
        max_length=40,
        title="Phone number",
        description="Where the OTPs go (with dynamic_phone: the user's mobile instead).",
    )
    dynamic_phone: PiBool = Field(
        default=False,
        title="Use the user's current mobile number",
        description="Read the owner's mobile number from the user store at each challenge.",
    )
    sms_identifier: str | None = Field(
        default=None,
        max_length=120,
        validation_alias=AliasChoices("sms_identifier", "sms.identifier"),
        title="SMS gateway",
        description="The SMS gateway the OTPs are sent through (empty: the default).",
        json_schema_extra={CHOICES_FROM: "sms_gateways"},
    )

    def recipient(self) -> tuple[str | None, bool, str | None]:
        return self.phone, self.dynamic_phone, self.sms_identifier


class SmsToken(SentOtpToken):
    """privacyIDEA's ``sms`` token. Tokeninfo ``phone`` (static number) or
    ``dynamic_phone`` (the owner's ``mobile`` attribute at each challenge),
    ``sms.identifier`` (SMS gateway). The text is the OTP alone, as privacyIDEA's
    default; gateway templates place it with ``{otp}``."""

    type_name = "sms"
    serial_prefix = "PISM"
    InitParams: ClassVar[type[TokenInitParams]] = SmsInitParams
    address_key = "phone"
    dynamic_key = "dynamic_phone"
    user_attribute = "mobile"
    identifier_key = "sms.identifier"
    config_model = SmsGateway
    medium = "SMS"
    challenge_validity_keys = ("SMSChallengeValidityTime",)

    @staticmethod
    def valid_address(value: str) -> bool:
        return sms.is_phone(value)

    def delivery(self, identifier: str, address: str, otp: str, validity: int) -> Delivery:
        return Delivery("sms", {"gateway": identifier, "phone": address, "message": otp})
