"""Parameters of ``/validate/check`` and ``/validate/radiuscheck``."""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from factorflow.core.params import PiBool


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, coerce_numbers_to_str=True)

    user: Annotated[str, Field(max_length=320)] | None = None
    realm: Annotated[str, Field(max_length=120)] | None = None
    serial: Annotated[str, Field(max_length=120)] | None = None
    password: Annotated[str, Field(max_length=1024)] = Field(default="", alias="pass")
    otponly: PiBool = False
    transaction_id: Annotated[str, Field(max_length=120)] | None = Field(
        default=None, validation_alias=AliasChoices("transaction_id", "state")
    )
    type: Annotated[str, Field(max_length=30)] | None = None
    credential_id: Annotated[str, Field(max_length=1024)] | None = None
