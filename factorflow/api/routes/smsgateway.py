"""/smsgateway: HTTP SMS gateway configurations and a test SMS (admins only).

privacyIDEA's form: ``name`` (Factorflow also takes ``identifier``), ``module``
(``http``), ``description``, ``option.URL``, ``option.HTTP_METHOD``,
``option.SEND_DATA_AS_JSON``, ``option.RETURN_SUCCESS`` (a pattern the body must
contain), ``option.SUCCESS_STATUS`` (e.g. ``200-299``), ``option.TIMEOUT``,
``option.CHECK_SSL``; any other ``option.<name>`` is a request parameter template
with ``{phone}`` and ``{otp}``; ``header.<Name>`` are request headers.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.invocation import Outcome
from factorflow.errors import MissingParameterError
from factorflow.notify.options import sms_providers
from factorflow.pipeline import Access

routes = Routes("smsgateway")


class SmsListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    identifier: str = Field(default="", max_length=120)


class SmsWriteParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(default="", max_length=120)
    identifier: str = Field(default="", max_length=120)
    module: str = Field(default="http", max_length=200)
    description: str = Field(default="", max_length=2000)

    @property
    def gateway(self) -> str:
        if not (self.name or self.identifier):
            raise MissingParameterError("name")
        return self.name or self.identifier


class SmsIdentifierParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    identifier: str = Field(min_length=1, max_length=120)


class SmsTestParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    identifier: str = Field(min_length=1, max_length=120)
    phone: str = Field(min_length=1, max_length=40)
    message: str = Field(default="Factorflow test message", max_length=1000)


def form(params: SmsWriteParams) -> dict[str, Any]:
    fields: dict[str, Any] = dict(params.model_extra or {})
    fields.update(module=params.module, description=params.description)
    return fields


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


# Before GET /smsgateway/{identifier}, as in privacyIDEA, where "providers" is not a name.
@routes.route(
    "GET", "/smsgateway/providers", event="smsgateway_list", params=NoParams, access=Access.ADMIN
)
def providers(call: Call[NoParams]) -> Outcome:
    """The provider modules with the descriptors of their options (privacyIDEA's shape)."""
    return Outcome(value=sms_providers())


@routes.route(
    "GET", "/smsgateway/", "/smsgateway/{identifier}", event="smsgateway_list",
    params=SmsListParams, access=Access.ADMIN,
)  # fmt: skip
def list_sms(call: Call[SmsListParams]) -> Outcome:
    """List SMS gateway configurations (secret headers censored), or one."""
    return Outcome(value=call.services.notify.list_sms(call.session, call.params.identifier))


@routes.route(
    "POST", "/smsgateway/send_test_sms", event="smsgateway_test", params=SmsTestParams,
    access=Access.ADMIN,
)  # fmt: skip
def send_test_sms(call: Call[SmsTestParams]) -> Outcome:
    """Send a test SMS now through a stored gateway."""
    p = call.params
    call.audit.action_detail = f"identifier={p.identifier}"
    note = call.services.notify.test_sms(call.session, p.identifier, p.phone, p.message)
    return Outcome(value=True, detail={"message": note})


@routes.route(
    "POST", "/smsgateway", "/smsgateway/", event="smsgateway_write", params=SmsWriteParams,
    access=Access.ADMIN,
)  # fmt: skip
def save_sms(call: Call[SmsWriteParams]) -> Outcome:
    """Create or replace an SMS gateway configuration."""
    p = call.params
    call.audit.action_detail = f"identifier={p.gateway}"
    return Outcome(value=call.services.notify.save_sms(call.session, p.gateway, form(p)))


@routes.route(
    "DELETE", "/smsgateway/{identifier}", event="smsgateway_delete", params=SmsIdentifierParams,
    access=Access.ADMIN,
)  # fmt: skip
def delete_sms(call: Call[SmsIdentifierParams]) -> Outcome:
    """Delete an SMS gateway configuration."""
    call.audit.action_detail = f"identifier={call.params.identifier}"
    call.services.notify.delete_sms(call.session, call.params.identifier)
    return Outcome(value=True)
