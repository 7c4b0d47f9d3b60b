"""Parameters of the ``/validate/*`` endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from factorflow.core.params import PiBool
from factorflow.tokens.base import Assertion

#: privacyIDEA's transaction ids are 20 digits; other clients' are shorter.
TransactionId = Annotated[str, Field(max_length=64)]
Encoded = Annotated[str, Field(max_length=16384)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, coerce_numbers_to_str=True)


class ChallengeParams(_Request):
    """What a request may ask of the challenges it creates (``ChallengeContext.request``):
    privacyIDEA's ``challenge`` (the data an OCRA token signs), ``hashchallenge``
    (sha1, sha256, sha512) and ``addrandomchallenge`` (that many random characters)."""

    challenge: Annotated[str, Field(max_length=1024)] | None = None
    hashchallenge: Annotated[str, Field(max_length=10)] | None = None
    addrandomchallenge: Annotated[int, Field(ge=0, le=64)] | None = None

    def challenge_request(self) -> dict[str, str]:
        values = {
            "challenge": self.challenge,
            "hashchallenge": self.hashchallenge,
            "addrandomchallenge": self.addrandomchallenge,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


class CheckRequest(ChallengeParams):
    user: Annotated[str, Field(max_length=320)] | None = None
    realm: Annotated[str, Field(max_length=120)] | None = None
    serial: Annotated[str, Field(max_length=120)] | None = None
    password: Annotated[str, Field(max_length=1024)] = Field(default="", alias="pass")
    otponly: PiBool = False
    #: The answer leg of challenge-response; FreeRADIUS sends it as ``state``.
    transaction_id: TransactionId | None = Field(
        default=None, validation_alias=AliasChoices("transaction_id", "state")
    )
    type: Annotated[str, Field(max_length=30)] | None = None
    #: The WebAuthn assertion of the answer leg (privacyIDEA's names, and the
    #: WebAuthn spellings its passkey clients send).
    credential_id: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None, validation_alias=AliasChoices("credential_id", "credentialid")
    )
    clientdata: Encoded = Field(
        default="", validation_alias=AliasChoices("clientdata", "clientDataJSON")
    )
    signaturedata: Encoded = Field(
        default="", validation_alias=AliasChoices("signaturedata", "signature")
    )
    authenticatordata: Encoded = Field(
        default="", validation_alias=AliasChoices("authenticatordata", "authenticatorData")
    )
    userhandle: Encoded = Field(
        default="", validation_alias=AliasChoices("userhandle", "userHandle")
    )
    #: The request's ``Origin`` header: the API sets it and replaces any parameter.
    origin: Annotated[str, Field(max_length=255)] = ""
    #: Raise an error (400) instead of a REJECT when a challenge cannot be sent.
    exception: PiBool = False
    #: The service an application-specific password (``applspec``) must be bound to.
    service_id: Annotated[str, Field(max_length=255)] | None = None

    def assertion(self) -> Assertion | None:
        """The WebAuthn assertion the request carries, or None (no signature)."""
        if not (self.credential_id and self.clientdata and self.signaturedata):
            return None
        return Assertion(
            credential_id=self.credential_id,
            client_data=self.clientdata,
            authenticator_data=self.authenticatordata,
            signature=self.signaturedata,
            user_handle=self.userhandle,
            origin=self.origin,
        )


class TriggerRequest(ChallengeParams):
    user: Annotated[str, Field(max_length=320)] | None = None
    realm: Annotated[str, Field(max_length=120)] | None = None
    serial: Annotated[str, Field(max_length=120)] | None = None
    type: Annotated[str, Field(max_length=30)] | None = None


class PollRequest(_Request):
    transaction_id: TransactionId


class InitializeRequest(_Request):
    """``/validate/initialize``: the token type to start an authentication for."""

    type: Annotated[str, Field(min_length=1, max_length=30)]
    #: The realm whose enrollment policies name the relying party (passkeys).
    realm: Annotated[str, Field(max_length=120)] | None = None


class CapabilitiesRequest(_Request):
    """``/validate/capabilities`` takes no parameters: the caller is the API client."""
