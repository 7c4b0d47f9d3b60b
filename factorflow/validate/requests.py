"""Parameters of the ``/validate/*`` endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from factorflow.core.params import PiBool

#: privacyIDEA's transaction ids are 20 digits; other clients' are shorter.
TransactionId = Annotated[str, Field(max_length=64)]


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
    credential_id: Annotated[str, Field(max_length=1024)] | None = None
    #: Raise an error (400) instead of a REJECT when a challenge cannot be sent.
    exception: PiBool = False
    #: The service an application-specific password (``applspec``) must be bound to.
    service_id: Annotated[str, Field(max_length=255)] | None = None


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


class CapabilitiesRequest(_Request):
    """``/validate/capabilities`` takes no parameters: the caller is the API client."""
