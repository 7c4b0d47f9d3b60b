"""Parameter models of the token use cases (the API validates requests with them).

Strings are bounded; integers have ranges; booleans use privacyIDEA's is_true.
Unknown parameters are ignored, as privacyIDEA ignores them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from factorflow.core.params import PiBool

Serial = Annotated[str, Field(max_length=64)]
Login = Annotated[str, Field(max_length=320)]
RealmName = Annotated[str, Field(max_length=120)]
#: A comma list (or JSON list) of serials or realms.
NameList = str | Annotated[list[Annotated[str, Field(max_length=120)]], Field(max_length=1000)]
ValidityBound = Annotated[str, Field(max_length=40)]


class Request(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, coerce_numbers_to_str=True)


class Selection(Request):
    """Which tokens: ``serial`` (a comma list where the endpoint accepts several) or
    the tokens of ``user`` in ``realm``. User-role callers always select among
    their own tokens."""

    serial: Annotated[str, Field(max_length=10_000)] | None = None
    serials: NameList | None = None
    user: Login | None = None
    realm: RealmName | None = None


class InitRequest(Request):
    """``POST /token/init``: the common parameters; type parameters stay in the extras
    and are validated by the type's own ``InitParams``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)

    type: Annotated[str, Field(max_length=30)] = "hotp"
    serial: Serial | None = None
    description: Annotated[str, Field(max_length=255)] = ""
    pin: Annotated[str, Field(max_length=256)] | None = None
    user: Login | None = None
    realm: RealmName | None = None
    tokenrealm: NameList | None = None
    validity_period_start: ValidityBound | None = None
    validity_period_end: ValidityBound | None = None
    two_step_init: PiBool = Field(default=False, alias="2stepinit")
    verify: Annotated[str, Field(max_length=256)] | None = None
    container_serial: Annotated[str, Field(max_length=64)] | None = None
    #: The request's ``Origin`` header (WebAuthn, §7.1 step 9): the API sets it from
    #: the header and replaces any parameter of this name.
    origin: Annotated[str, Field(max_length=255)] = ""


class TypesRequest(Request):
    """``GET /token/types/[<tokentype>]``: the enrolable types, or one of them."""

    tokentype: Annotated[str, Field(max_length=30)] = ""


class ListRequest(Request):
    serial: Annotated[str, Field(max_length=1000)] | None = None
    type: Annotated[str, Field(max_length=200)] | None = None
    type_list: Annotated[str, Field(max_length=1000)] | None = None
    user: Login | None = None
    realm: Annotated[str, Field(max_length=1000)] | None = None
    resolver: Annotated[str, Field(max_length=120)] | None = None
    userid: Annotated[str, Field(max_length=320)] | None = None
    tokenrealm: Annotated[str, Field(max_length=1000)] | None = None
    description: Annotated[str, Field(max_length=255)] | None = None
    assigned: Annotated[str, Field(max_length=10)] | None = None
    active: Annotated[str, Field(max_length=10)] | None = None
    rollout_state: Annotated[str, Field(max_length=20)] | None = None
    infokey: Annotated[str, Field(max_length=255)] | None = None
    infovalue: Annotated[str, Field(max_length=1000)] | None = None
    sortby: Annotated[str, Field(max_length=40)] = "serial"
    sortdir: Literal["asc", "desc"] = "asc"
    page: int = Field(default=1, ge=1, le=1_000_000)
    pagesize: int = Field(default=15, ge=1, le=1000)


class AssignRequest(Request):
    serial: Serial
    user: Login
    realm: RealmName | None = None
    pin: Annotated[str, Field(max_length=256)] | None = None


class ResyncRequest(Request):
    serial: Serial
    otp1: Annotated[str, Field(max_length=16)]
    otp2: Annotated[str, Field(max_length=16)]


class SetPinRequest(Request):
    serial: Serial
    otppin: Annotated[str, Field(max_length=256)]


class SetRequest(Selection):
    description: Annotated[str, Field(max_length=255)] | None = None
    count_window: int | None = Field(default=None, ge=1, le=1000)
    sync_window: int | None = Field(default=None, ge=1, le=100_000)
    max_failcount: int | None = Field(default=None, ge=1, le=1_000_000)
    count_auth_max: int | None = Field(default=None, ge=0, le=1_000_000_000)
    count_auth_success_max: int | None = Field(default=None, ge=0, le=1_000_000_000)
    hashlib: Literal["sha1", "sha256", "sha512"] | None = None
    validity_period_start: ValidityBound | None = None
    validity_period_end: ValidityBound | None = None


class DescriptionRequest(Request):
    serial: Serial
    description: Annotated[str, Field(max_length=255)]


class RealmRequest(Request):
    serial: Serial
    realms: NameList = ""


class InfoRequest(Request):
    serial: Serial
    key: Annotated[str, Field(min_length=1, max_length=255)]
    value: Annotated[str, Field(max_length=2000)] = ""


class GroupAssignRequest(Request):
    serial: Serial
    groupname: Annotated[str, Field(max_length=120)] | None = None
    groups: NameList | None = None


class TokenGroupRequest(Request):
    groupname: Annotated[str, Field(min_length=1, max_length=120)]
    description: Annotated[str, Field(max_length=255)] = ""


class TokenGroupListRequest(Request):
    groupname: Annotated[str, Field(max_length=120)] | None = None


class CancelChallengeRequest(Request):
    """``DELETE /token/challenges/transaction/<transaction_id>`` (admin)."""

    transaction_id: Annotated[str, Field(min_length=1, max_length=64)]


class ChallengeListRequest(Request):
    """``GET /token/challenges/[<serial>]``: open and recent challenges (admin)."""

    serial: Serial | None = None
    user: Login | None = None
    realm: RealmName | None = None
    transaction_id: Annotated[str, Field(max_length=64)] | None = None
    page: int = Field(default=1, ge=1, le=1_000_000)
    pagesize: int = Field(default=15, ge=1, le=1000)
