"""WebAuthn: a FIDO2 security key or platform authenticator, PIN then a signed challenge.

privacyIDEA's ``webauthn`` token (serial prefix ``WAN``). Enrolment takes two
``/token/init`` calls (W3C WebAuthn Level 3 §7.1, checked by the ``webauthn``
library): the first answers ``detail.webAuthnRegisterRequest`` (``nonce``: the
challenge, base64url of random bytes; ``relyingParty`` from the enrollment policies
``webauthn_relying_party_id`` / ``_name``; ``attestation`` from
``webauthn_authenticator_attestation_form``) and leaves the token in ``clientwait``;
the second carries ``serial``, ``transaction_id``, ``clientdata`` (base64url
clientDataJSON) and ``regdata`` (base64url attestationObject) from the browser, whose
``Origin`` header must equal the client data's origin. The attestation must satisfy
``webauthn_authenticator_attestation_level``: ``untrusted`` (the default) refuses
``none`` attestation, ``none`` accepts it, ``trusted`` wants a certificate chain.

Authentication (§7.2): the PIN alone answers CHALLENGE with
``attributes.webAuthnSignRequest`` (``challenge``, ``allowCredentials``, ``rpId``,
``userVerification``, ``timeout``) in ``multi_challenge``; the client answers with
``transaction_id``, ``credentialid``, ``clientdata``, ``signaturedata``,
``authenticatordata`` and ``userhandle``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AliasChoices, Field, ValidationError
from sqlalchemy.orm import Session
from webauthn.helpers import parse_attestation_object

from factorflow.core.checks import validation_error
from factorflow.errors import ParameterError, PolicyError
from factorflow.tokens.base import (
    ChallengeContext,
    EnrollContext,
    IssuedChallenge,
    TokenInitParams,
)
from factorflow.tokens.challenges import new_transaction_id
from factorflow.tokens.fido import (
    ALGORITHMS,
    BAD_ANSWER,
    INFO_RP_ID,
    INFO_RP_NAME,
    RP_ID,
    RP_NAME,
    TIMEOUT_MS,
    FidoToken,
    b64url,
    finish_registration,
    registration_request,
    remember_registration,
    unb64url,
    verify_registration,
)

ATTESTATION_FORM = "webauthn_authenticator_attestation_form"
ATTESTATION_LEVEL = "webauthn_authenticator_attestation_level"
MSG_REGISTER = "Please confirm with your WebAuthn token"
MSG_SIGN = "Please confirm with your WebAuthn token"
Encoded = Annotated[str, Field(max_length=16384)]


def missing_policy(action: str, what: str = "WebAuthn") -> PolicyError:
    return PolicyError(f"Missing enrollment policy for {what} token: {action}")


class WebAuthnParams(TokenInitParams):
    """Enrolment parameters. The relying party and attestation values come only from
    the enrollment policies (a request's own values are dropped, see
    ``TokenType.policy_params``)."""

    rp_id: Annotated[str, Field(max_length=253)] = Field(default="", alias=RP_ID)
    rp_name: Annotated[str, Field(max_length=255)] = Field(default="", alias=RP_NAME)
    attestation_form: Literal["direct", "indirect", "none"] = Field(
        default="direct", alias=ATTESTATION_FORM
    )
    attestation_level: Literal["none", "untrusted", "trusted"] = Field(
        default="untrusted", alias=ATTESTATION_LEVEL
    )
    #: The logged-in name shown by the authenticator (privacyIDEA's ``name``).
    user: Annotated[str, Field(max_length=320)] | None = None


class CompleteParams(TokenInitParams):
    """The second step: what the browser's ``navigator.credentials.create()`` returned
    (privacyIDEA's names, and the WebAuthn spellings)."""

    transaction_id: Annotated[str, Field(max_length=64)] = ""
    client_data: Encoded = Field(validation_alias=AliasChoices("clientdata", "clientDataJSON"))
    attestation: Encoded = Field(validation_alias=AliasChoices("regdata", "attestationObject"))
    credential_id: Encoded = Field(
        default="", validation_alias=AliasChoices("credential_id", "credentialid", "rawId")
    )
    origin: Annotated[str, Field(max_length=255)] = ""


def complete_params(params: Mapping[str, Any]) -> CompleteParams:
    try:
        return CompleteParams.model_validate(params)
    except ValidationError as exc:
        raise validation_error(exc) from None


class WebAuthnToken(FidoToken):
    type_name = "webauthn"
    serial_prefix = "WAN"
    InitParams = WebAuthnParams
    self_service = True
    challenge_response = True
    policy_params: ClassVar[frozenset[str]] = frozenset(
        {RP_ID, RP_NAME, ATTESTATION_FORM, ATTESTATION_LEVEL}
    )
    public_key_info = "pubKey"

    @classmethod
    def is_client_answer(cls, params: Mapping[str, Any]) -> bool:
        return any(params.get(key) for key in ("regdata", "attestationObject"))

    def enroll(self, params: TokenInitParams, ctx: EnrollContext) -> dict[str, Any]:
        assert isinstance(params, WebAuthnParams)
        if not params.rp_id:
            raise missing_policy(RP_ID)
        if not params.rp_name:
            raise missing_policy(RP_NAME)
        nonce = b64url(secrets.token_bytes(32))
        transaction_id = new_transaction_id()
        remember_registration(self, nonce, transaction_id, time.time())
        self.token.otplen = 0
        self.set_info("tokenkind", "hardware")
        self.set_info(INFO_RP_ID, params.rp_id)
        self.set_info(INFO_RP_NAME, params.rp_name)
        self.set_info("attestation_level", params.attestation_level)
        name = params.user or ctx.label
        return {
            "webAuthnRegisterRequest": {
                "transaction_id": transaction_id,
                "message": MSG_REGISTER,
                "nonce": nonce,
                "relyingParty": {"id": params.rp_id, "name": params.rp_name},
                "serialNumber": ctx.serial,
                "name": name,
                "displayName": ctx.label,
                "pubKeyCredAlgorithms": [{"type": "public-key", "alg": a} for a in ALGORITHMS],
                "authenticatorSelection": {"userVerification": "preferred"},
                "timeout": TIMEOUT_MS,
                "attestation": params.attestation_form,
            },
            "transaction_id": transaction_id,
        }

    def complete_enrollment(
        self, session: Session, params: Mapping[str, Any], now: float
    ) -> dict[str, Any]:
        answer = complete_params(params)
        nonce = registration_request(self, params, now)
        verified = verify_registration(
            credential_id=answer.credential_id,
            attestation=answer.attestation,
            client_data=answer.client_data,
            challenge=unb64url(nonce),
            rp_id=self.info(INFO_RP_ID),
            origin=answer.origin,
        )
        check_attestation_level(self.info("attestation_level", "untrusted"), answer.attestation)
        finish_registration(session, self)
        self.store_credential(session, verified)
        self.set_info("origin", answer.origin)
        subject = self.token.description or f"WebAuthn {verified.aaguid}"
        return {"webAuthnRegisterResponse": {"subject": subject}}

    def expected_challenge(self, data: Mapping[str, Any]) -> bytes:
        return unb64url(str(data.get("challenge", "")))

    def create_challenge(self, session: Session, ctx: ChallengeContext) -> IssuedChallenge:
        nonce = b64url(secrets.token_bytes(32))
        sign_request = {
            "challenge": nonce,
            "allowCredentials": [
                {"id": self.credential_id(), "type": "public-key",
                 "transports": ["usb", "nfc", "ble", "hybrid", "internal"]}
            ],
            "rpId": self.info(INFO_RP_ID),
            "userVerification": "preferred",
            "timeout": TIMEOUT_MS,
        }  # fmt: skip
        return IssuedChallenge(
            message=MSG_SIGN,
            client_mode="webauthn",
            attributes={"hideResponseInput": True, "img": "", "webAuthnSignRequest": sign_request},
            data={"challenge": nonce},
        )


def check_attestation_level(level: str, attestation: str) -> None:
    """``webauthn_authenticator_attestation_level``: ``none`` takes any attestation;
    ``untrusted`` (the default, as privacyIDEA's) refuses the ``none`` format;
    ``trusted`` also refuses self attestation (no certificate chain, §8.2). The
    library has verified the statement itself."""
    if level == "none":
        return
    try:
        parsed = parse_attestation_object(unb64url(attestation))
    except BAD_ANSWER:
        raise ParameterError("Invalid registration response: attestation object") from None
    if str(getattr(parsed.fmt, "value", parsed.fmt)) == "none":
        raise PolicyError(
            "The authenticator sent no attestation, which the attestation level "
            f"{level!r} does not accept."
        )
    if level == "trusted" and not parsed.att_stmt.x5c:
        raise PolicyError("The attestation level 'trusted' needs an attestation certificate.")


__all__ = ["INFO_RP_NAME", "WebAuthnToken"]
