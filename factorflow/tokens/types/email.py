"""Email token: an HOTP value (RFC 4226) mailed to the user on each challenge."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AliasChoices, Field

from factorflow.core.describe import CHOICES_FROM
from factorflow.core.params import PiBool
from factorflow.notify import smtp
from factorflow.notify.models import SmtpServer
from factorflow.tokens.base import Delivery, TokenInitParams
from factorflow.tokens.sent import SentOtpInitParams, SentOtpToken


class EmailInitParams(SentOtpInitParams):
    email: str | None = Field(
        default=None,
        max_length=254,
        title="Email address",
        description="Where the OTPs go (with dynamic_email: the user's address instead).",
    )
    dynamic_email: PiBool = Field(
        default=False,
        title="Use the user's current address",
        description="Read the owner's email address from the user store at each challenge.",
    )
    smtp_identifier: str | None = Field(
        default=None,
        max_length=120,
        validation_alias=AliasChoices("smtp_identifier", "email.identifier"),
        title="SMTP server",
        description="The SMTP server the OTPs are sent through (empty: the default).",
        json_schema_extra={CHOICES_FROM: "smtp_servers"},
    )

    def recipient(self) -> tuple[str | None, bool, str | None]:
        return self.email, self.dynamic_email, self.smtp_identifier


class EmailToken(SentOtpToken):
    """privacyIDEA's ``email`` token. Tokeninfo ``email`` (static address) or
    ``dynamic_email`` (the owner's ``email`` attribute at each challenge),
    ``email.identifier`` (SMTP server). Challenge lifetime: system setting
    ``email.validtime`` (privacyIDEA's name), else the generic defaults."""

    type_name = "email"
    serial_prefix = "PIEM"
    InitParams: ClassVar[type[TokenInitParams]] = EmailInitParams
    address_key = "email"
    dynamic_key = "dynamic_email"
    user_attribute = "email"
    identifier_key = "email.identifier"
    config_model = SmtpServer
    medium = "email"
    challenge_validity_keys = ("email.validtime", "EmailChallengeValidityTime")

    @staticmethod
    def valid_address(value: str) -> bool:
        return smtp.is_address(value)

    def delivery(self, identifier: str, address: str, otp: str, validity: int) -> Delivery:
        body = (
            f"Your one-time password is {otp}\n\n"
            f"It is valid for {validity} seconds. If you did not try to log in, "
            "someone else knows your PIN: please tell your administrator.\n"
        )
        return Delivery(
            "email",
            {
                "smtp": identifier,
                "to": [address],
                "subject": "Your one-time password",
                "body": body,
            },
        )
