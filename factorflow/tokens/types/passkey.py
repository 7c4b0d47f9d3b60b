"""Passkey: a discoverable FIDO2 credential; usernameless login, the user comes from it.

privacyIDEA 3.14's ``passkey`` token (serial prefix ``PIPK``). Enrolment (W3C
WebAuthn Level 3 §7.1, checked by the ``webauthn`` library) needs a user and the
enrollment policies ``webauthn_relying_party_id`` / ``_name``; the first
``/token/init`` answers ``detail.passkey_registration`` (the creation options:
``rp``, ``user``, ``challenge``, ``pubKeyCredParams``, ``authenticatorSelection`` with
``residentKey: required``, ``attestation: none``...) and ``detail.transaction_id``;
the second carries ``serial``, ``transaction_id``, ``attestationObject``,
``clientDataJSON``, ``credential_id`` / ``rawId`` and ``authenticatorAttachment``.

Login (§7.2): ``/validate/initialize type=passkey`` answers CHALLENGE with
``detail.passkey`` (``challenge``, ``transaction_id``, ``message``,
``userVerification``); ``/validate/check`` with ``transaction_id``, ``credential_id``
and ``authenticatorData``, ``clientDataJSON``, ``signature``, ``userHandle`` (or the
webauthn spellings) finds the token from the credential and its user from the token.
As in privacyIDEA the challenge is text: the client signs its UTF-8 bytes, so the
client data carries their base64url. A passkey takes part only in checks that carry
an assertion: a PIN or OTP never counts against it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import AliasChoices, Field, ValidationError
from sqlalchemy.orm import Session
from webauthn import generate_registration_options
from webauthn.helpers.options_to_json_dict import options_to_json_dict
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from factorflow.core.checks import validation_error
from factorflow.errors import ParameterError
from factorflow.tokens.base import (
    Assertion,
    CheckContext,
    EnrollContext,
    InitializeContext,
    InitializedChallenge,
    OtpCheck,
    PinMode,
    TokenInitParams,
)
from factorflow.tokens.challenges import new_transaction_id
from factorflow.tokens.fido import (
    ALGORITHMS,
    INFO_RP_ID,
    INFO_RP_NAME,
    RP_ID,
    RP_NAME,
    TIMEOUT_MS,
    FidoToken,
    b64url,
    claim_initialized_challenge,
    finish_registration,
    new_initialized_challenge,
    open_initialized_challenge,
    registration_request,
    remember_registration,
    unb64url,
    verify_registration,
)
from factorflow.tokens.sent import system_setting
from factorflow.tokens.types.webauthn import missing_policy

MSG_AUTH = "Please authenticate with your passkey!"
MSG_REGISTER = "Please confirm the registration with your passkey!"
DEFAULT_VALIDITY = 120
Encoded = Annotated[str, Field(max_length=16384)]


class PasskeyParams(TokenInitParams):
    rp_id: Annotated[str, Field(max_length=253)] = Field(default="", alias=RP_ID)
    rp_name: Annotated[str, Field(max_length=255)] = Field(default="", alias=RP_NAME)


class PasskeyAnswer(TokenInitParams):
    """What ``navigator.credentials.create()`` returned (privacyIDEA's names; the
    webauthn token's spellings are accepted too)."""

    transaction_id: Annotated[str, Field(max_length=64)] = ""
    client_data: Encoded = Field(validation_alias=AliasChoices("clientDataJSON", "clientdata"))
    attestation: Encoded = Field(validation_alias=AliasChoices("attestationObject", "regdata"))
    credential_id: Encoded = Field(
        default="", validation_alias=AliasChoices("credential_id", "rawId", "credentialid")
    )
    authenticator_attachment: Annotated[str, Field(max_length=30)] = Field(
        default="", alias="authenticatorAttachment"
    )
    origin: Annotated[str, Field(max_length=255)] = ""


class PasskeyToken(FidoToken):
    type_name = "passkey"
    serial_prefix = "PIPK"
    InitParams = PasskeyParams
    self_service = True
    pin_mode = PinMode.NONE
    policy_params: ClassVar[frozenset[str]] = frozenset({RP_ID, RP_NAME})

    @classmethod
    def is_client_answer(cls, params: Mapping[str, Any]) -> bool:
        return any(params.get(key) for key in ("attestationObject", "regdata"))

    def used_for(self, ctx: CheckContext) -> bool:
        # Only an assertion is a passkey's answer: a PIN or OTP never counts for or
        # against it (privacyIDEA counts no passkey failures).
        return ctx.assertion

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, PasskeyParams)
        if not ctx.login:
            raise ParameterError("User must be provided for passkey enrollment!")
        if not params.rp_id:
            raise missing_policy(RP_ID, "passkey")
        if not params.rp_name:
            raise missing_policy(RP_NAME, "passkey")
        text = secrets.token_urlsafe(32)
        transaction_id = new_transaction_id()
        user_id = secrets.token_bytes(32)
        options = generate_registration_options(
            rp_id=params.rp_id,
            rp_name=params.rp_name,
            user_name=ctx.login,
            user_display_name=ctx.login,
            user_id=user_id,
            challenge=text.encode(),
            timeout=TIMEOUT_MS,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            supported_pub_key_algs=list(ALGORITHMS),  # type: ignore[arg-type]
            # privacyIDEA's rule: the user's other credentials, so that one
            # authenticator is not registered twice.
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=unb64url(cid)) for cid in ctx.known_credentials
            ],
        )
        registration = options_to_json_dict(options)
        # privacyIDEA's passkey challenge is text (its UTF-8 bytes are signed).
        registration["challenge"] = text
        remember_registration(self, text, transaction_id, time.time())
        self.token.otplen = 0
        self.set_info("tokenkind", "hardware")
        self.set_info(INFO_RP_ID, params.rp_id)
        self.set_info(INFO_RP_NAME, params.rp_name)
        self.set_info("user_id", b64url(user_id))
        return {"passkey_registration": registration, "transaction_id": transaction_id}

    def complete_enrollment(
        self, session: Session, params: Mapping[str, Any], now: float
    ) -> dict[str, Any]:
        try:
            answer = PasskeyAnswer.model_validate(params)
        except ValidationError as exc:
            raise validation_error(exc) from None
        text = registration_request(self, params, now)
        verified = verify_registration(
            credential_id=answer.credential_id,
            attestation=answer.attestation,
            client_data=answer.client_data,
            challenge=text.encode(),
            rp_id=self.info(INFO_RP_ID),
            origin=answer.origin,
        )
        finish_registration(session, self)
        self.store_credential(session, verified)
        self.set_info(
            "credential_device_type", str(getattr(verified.credential_device_type, "value", ""))
        )
        self.set_info("credential_backed_up", str(verified.credential_backed_up))
        return {}

    def expected_challenge(self, data: Mapping[str, Any]) -> bytes:
        return str(data.get("challenge", "")).encode()

    @classmethod
    def initialize(cls, session: Session, ctx: InitializeContext) -> InitializedChallenge | None:
        validity = system_setting(session, "DefaultChallengeValidityTime").strip()
        seconds = int(validity) if validity.isdigit() and int(validity) > 0 else DEFAULT_VALIDITY
        text = new_initialized_challenge(session, ctx.transaction_id, ctx.now, seconds)
        passkey: dict[str, Any] = {
            "challenge": text,
            "message": MSG_AUTH,
            "transaction_id": ctx.transaction_id,
            "userVerification": "preferred",
            "timeout": TIMEOUT_MS,
        }
        rp_id = str(ctx.params.get(RP_ID) or "")
        if rp_id:
            passkey["rpId"] = rp_id
        return InitializedChallenge(detail={"passkey": passkey})

    def answer_initialized(
        self, session: Session, transaction_id: str, assertion: Assertion, now: float
    ) -> OtpCheck | None:
        row = open_initialized_challenge(session, transaction_id, now)
        if row is None:
            return None
        check = self.check_assertion(assertion, {"challenge": row.challenge}, now)
        if check.counter is None or not claim_initialized_challenge(session, row, now):
            # A wrong answer leaves the challenge open; a second right one is a replay.
            return OtpCheck(replay=check.counter is not None)
        return check


__all__ = ["INFO_RP_NAME", "PasskeyToken"]
