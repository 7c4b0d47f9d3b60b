"""Push token: the smartphone confirms or declines each login, signing with its RSA key.

privacyIDEA's ``push`` token (the privacyIDEA Authenticator app). Enrolment takes two
steps: ``POST /token/init type=push genkey=1`` answers with the ``otpauth://pipush/``
URL to scan (``detail.pushurl``) and leaves the token in the rollout state
``clientwait``; the phone then registers its public key and Firebase token at
``POST /ttype/push`` with the one-time ``enrollment_credential`` from the URL
(:mod:`factorflow.tokens.push`), receives the server's public key, and the token is
``enrolled``.

A challenge is a random nonce. The phone gets it signed by the server — as a
Firebase message (a durable ``push`` job) or, in poll-only mode, by polling
``GET /ttype/push`` — and answers by signing ``nonce|serial`` (accept) or
``nonce|serial|decline``. The login client learns the outcome from
``/validate/polltransaction`` and finishes with ``/validate/check`` carrying the
transaction id (its ``pass`` is not looked at).
"""

from __future__ import annotations

import base64
import secrets
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from factorflow.core.checks import http_url
from factorflow.core.params import PiBool, is_true
from factorflow.errors import ParameterError
from factorflow.tokens import pushkeys
from factorflow.tokens.base import (
    ChallengeContext,
    ChallengeError,
    Delivery,
    EnrollContext,
    IssuedChallenge,
    OtpCheck,
    TokenInitParams,
    TokenType,
)
from factorflow.tokens.qr import png_data_uri

#: privacyIDEA's value of ``push_firebase_configuration`` for "no Firebase, the phone polls".
POLL_ONLY = "poll only"
CLIENTWAIT = "clientwait"
DEFAULT_CHALLENGE_TEXT = "Please confirm the authentication on your mobile device!"
DEFAULT_MOBILE_TEXT = "Do you want to confirm the login?"
DEFAULT_MOBILE_TITLE = "Factorflow"
#: Tokeninfo keys (privacyIDEA's names).
PUBLIC_KEY_SERVER = "public_key_server"
PUBLIC_KEY_SMARTPHONE = "public_key_smartphone"
FIREBASE_TOKEN = "firebase_token"  # noqa: S105 - a tokeninfo key, not a secret
FIREBASE_CONFIG = "push_firebase_configuration"
REGISTRATION_URL = "push_registration_url"
POLLING_ALLOWED = "polling_allowed"
#: ``push_allow_polling`` values: allow, deny, or per token (tokeninfo polling_allowed).
ALLOW, DENY, PER_TOKEN = "allow", "deny", "token"


class PushInitParams(TokenInitParams):
    """The first enrolment step. The ``push_*`` values come from the enrollment
    policies of the same names (forced over the request's)."""

    genkey: PiBool = Field(default=True, title="Generate the key", description="Always on.")
    push_registration_url: str = Field(
        default="",
        max_length=500,
        title="Registration URL",
        description="Where the phone registers (this server's /ttype/push); policy "
        "push_registration_url.",
    )
    push_ttl: int = Field(
        default=10, ge=1, le=1440, title="TTL", description="Minutes the QR code is valid."
    )
    push_ssl_verify: str = Field(
        default="1",
        pattern="^[01]$",
        title="Verify TLS",
        description="1: the phone verifies the server's certificate.",
    )
    push_firebase_configuration: str = Field(
        default=POLL_ONLY,
        min_length=1,
        max_length=120,
        title="Firebase configuration",
        description="'poll only', or the Firebase project id the notifications go through.",
    )

    @field_validator("push_registration_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value:
            http_url(value)
        return value.strip()


def new_nonce() -> str:
    """privacyIDEA's challenge: 20 random bytes, base32."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


class PushToken(TokenType):
    """privacyIDEA's ``push`` token (serial prefix ``PIPU``). The server's private key
    is the token's sealed secret; tokeninfo holds both public keys, the Firebase token
    and the Firebase configuration. Challenge lifetime: ``PushChallengeValidityTime``."""

    type_name = "push"
    serial_prefix = "PIPU"
    InitParams: ClassVar[type[TokenInitParams]] = PushInitParams
    self_service = True
    challenge_response = True
    answered_on_device = True
    challenge_validity_keys = ("PushChallengeValidityTime",)
    owned_info_keys = TokenType.owned_info_keys | {
        PUBLIC_KEY_SERVER,
        PUBLIC_KEY_SMARTPHONE,
        FIREBASE_TOKEN,
        FIREBASE_CONFIG,
        REGISTRATION_URL,
    }

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, PushInitParams)
        if not params.push_registration_url:
            raise ParameterError("Missing enrollment policy for push token: push_registration_url")
        credential = secrets.token_hex(20)
        # Sealed until the phone presents it; the server's private key replaces it then.
        self.store_secret(credential.encode())
        self.token.rollout_state = CLIENTWAIT
        self.token.otplen = 0
        self.set_info("tokenkind", "software")
        self.set_info(FIREBASE_CONFIG, params.push_firebase_configuration)
        self.set_info(REGISTRATION_URL, params.push_registration_url)
        query = {
            "url": params.push_registration_url,
            "ttl": str(params.push_ttl),
            "issuer": ctx.issuer,
            "enrollment_credential": credential,
            "v": "1",
            "serial": ctx.serial,
            "sslverify": params.push_ssl_verify,
        }
        if params.push_firebase_configuration != POLL_ONLY:
            query["projectid"] = params.push_firebase_configuration
        url = f"otpauth://pipush/{quote(ctx.label)}?{urlencode(query, quote_via=quote)}"
        return {
            "pushurl": {
                "description": "URL for privacyIDEA Push Token",
                "value": url,
                "img": png_data_uri(url),
            },
            "enrollment_credential": credential,
            "rollout_state": CLIENTWAIT,
        }

    def check_otp(self, otp: str, now: float) -> OtpCheck:
        """PIN + OTP means nothing to a push token: only its challenges log in."""
        return OtpCheck()

    def enrollment_credential(self) -> str:
        """The credential of the first step ("" once the phone has registered)."""
        if self.token.rollout_state != CLIENTWAIT:
            return ""
        return self.load_secret().decode()

    def register(self, phone_key: str, firebase_token: str) -> str:
        """The second step: keep the phone's key and Firebase token, make the server's
        key pair; returns the server's public key."""
        private = pushkeys.new_private_key()
        self.store_secret(private)
        server_public = pushkeys.public_text(private)
        self.set_info(PUBLIC_KEY_SERVER, server_public)
        self.set_info(PUBLIC_KEY_SMARTPHONE, phone_key)
        self.set_info(FIREBASE_TOKEN, firebase_token)
        self.token.rollout_state = "enrolled"
        return server_public

    def polling_allowed(self, policy: str) -> bool:
        """``push_allow_polling`` (default allow) for this token."""
        if policy == DENY:
            return False
        if policy == PER_TOKEN:
            return is_true(self.info(POLLING_ALLOWED, "True"))
        return True

    def create_challenge(self, session: Session, ctx: ChallengeContext) -> IssuedChallenge:
        config = self.info(FIREBASE_CONFIG, POLL_ONLY)
        polling = self.polling_allowed(ctx.options.get("push_allow_polling", ALLOW))
        if config == POLL_ONLY and not polling:
            raise ChallengeError("Polling is not allowed and no Firebase configuration is set.")
        data = {
            "nonce": new_nonce(),
            "question": ctx.options.get("push_text_on_mobile") or DEFAULT_MOBILE_TEXT,
            "title": ctx.options.get("push_title_on_mobile") or DEFAULT_MOBILE_TITLE,
            "sslverify": ctx.options.get("push_ssl_verify") or "1",
        }
        delivery = None
        if config != POLL_ONLY:
            message = self.phone_message(data)
            delivery = Delivery(
                "push",
                {"project_id": config, "fbtoken": self.info(FIREBASE_TOKEN), "data": message},
            )
        return IssuedChallenge(
            message=DEFAULT_CHALLENGE_TEXT, client_mode="poll", delivery=delivery, data=data
        )

    def phone_message(self, data: dict[str, Any]) -> dict[str, str]:
        """What the phone gets for the challenge that stored ``data``, signed by the
        server over ``nonce|url|serial|question|title|sslverify`` (privacyIDEA's order)."""
        message = {
            "nonce": str(data["nonce"]),
            "question": str(data["question"]),
            "serial": self.token.serial,
            "title": str(data["title"]),
            "sslverify": str(data["sslverify"]),
            "url": self.info(REGISTRATION_URL),
        }
        signed = "|".join(
            message[key] for key in ("nonce", "url", "serial", "question", "title", "sslverify")
        )
        message["signature"] = pushkeys.sign(self.load_secret(), signed)
        return message
