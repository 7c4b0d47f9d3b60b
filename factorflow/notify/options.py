"""The option models of SMTP servers and SMS gateways: one place that validates the
API input and says what each field means."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from factorflow.core.checks import http_url, validated
from factorflow.core.describe import Secret, describe_options
from factorflow.errors import ParameterError
from factorflow.notify import sms, smtp

_HOSTNAME = re.compile(r"^[A-Za-z0-9_.:\-\[\]]{1,255}$")
#: Names of request parameters whose values are credentials: sealed at rest and
#: censored on read (every header value is, whatever its name).
SENSITIVE_NAME = re.compile(r"(?i)auth|token|secret|key|pass|pwd|signature|cookie|credential")
#: privacyIDEA HttpSMSProvider options Factorflow does not implement; refused rather
#: than silently sent to the gateway as request parameters.
UNSUPPORTED_SMS_OPTIONS = frozenset({"PROXY", "HTTP_PROXY", "HTTPS_PROXY", "REGEXP", "RETURN_FAIL"})
#: privacyIDEA HttpSMSProvider's HTTP basic authentication. Stored with the parameter
#: templates (so they list and censor like them; PASSWORD is sealed by its name) but
#: taken out of the request parameters and sent as the credentials of the request.
BASIC_AUTH_OPTIONS = ("USERNAME", "PASSWORD")
#: privacyIDEA's module names for the HTTP provider.
HTTP_MODULES = frozenset(
    {"http", "privacyidea.lib.smsprovider.HttpSMSProvider.HttpSMSProvider", "HttpSMSProvider"}
)


class SmtpOptions(BaseModel):
    """An SMTP server. ``tls`` is implicit TLS (SMTPS), ``starttls`` upgrades a plain
    connection; at most one of them. ``timeout`` (seconds) bounds each network
    operation and should stay well below ``Settings.job_lease_seconds``."""

    model_config = ConfigDict(extra="ignore")

    server: str = Field(
        min_length=1, max_length=255, title="Server", description="Host name or address."
    )
    port: int = Field(
        default=25, ge=1, le=65535, title="Port", description="25, 465 (TLS) or 587 (STARTTLS)."
    )
    tls: bool = Field(
        default=False, title="TLS", description="Implicit TLS from the first byte (SMTPS)."
    )
    starttls: bool = Field(
        default=False, title="STARTTLS", description="Upgrade a plain connection to TLS."
    )
    tls_verify: bool = Field(
        default=True,
        title="Verify the TLS certificate",
        description="Against the system's CAs, when TLS or STARTTLS is used.",
    )
    username: str = Field(
        default="", max_length=255, title="User", description="Empty: send without login."
    )
    password: Secret = Field(default="", max_length=1024, title="Password")
    sender: str = Field(
        min_length=3, max_length=254, title="Sender address", description="The From address."
    )
    timeout: float = Field(
        default=10.0,
        gt=0,
        le=120,
        title="Timeout (seconds)",
        description="For each network operation.",
    )
    description: str = Field(default="", max_length=2000, title="Description")

    @field_validator("server")
    @classmethod
    def _host(cls, value: str) -> str:
        if not _HOSTNAME.match(value.strip()):
            raise ValueError("not a host name or address")
        return value.strip()

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not smtp.is_address(value.strip()):
            raise ValueError("not an email address")
        return value.strip()

    @field_validator("starttls")
    @classmethod
    def _one_tls(cls, value: bool, info: Any) -> bool:
        if value and info.data.get("tls"):
            raise ValueError("'tls' (implicit TLS) and 'starttls' exclude each other")
        return value


class HttpSmsOptions(BaseModel):
    """The ``option.<NAME>`` of the HTTP provider that configure the request itself,
    under privacyIDEA's names; any other option is a request parameter template."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    url: str = Field(
        alias="URL",
        min_length=1,
        max_length=2000,
        title="URL",
        description="The gateway's http:// or https:// URL.",
    )
    method: Literal["GET", "POST"] = Field(
        default="POST",
        alias="HTTP_METHOD",
        title="HTTP method",
        description="GET sends the parameters in the query, POST in the body.",
    )
    json_body: bool = Field(
        default=False,
        alias="SEND_DATA_AS_JSON",
        title="Send the parameters as JSON",
        description="POST only: a JSON object instead of a form.",
    )
    success_status: str = Field(
        default="200-299",
        alias="SUCCESS_STATUS",
        max_length=20,
        title="Success status",
        description="The HTTP status, or a range like 200-299, of an accepted message.",
    )
    success_regex: str = Field(
        default="",
        alias="RETURN_SUCCESS",
        max_length=500,
        title="Success pattern",
        description="A regular expression the answer's body must contain; empty: any body.",
    )
    tls_verify: bool = Field(
        default=True,
        alias="CHECK_SSL",
        title="Verify the TLS certificate",
        description="Against the system's CAs, for https:// URLs.",
    )
    timeout: float = Field(default=10.0, alias="TIMEOUT", gt=0, le=120, title="Timeout (seconds)")


class SmsGatewayOptions(HttpSmsOptions):
    """An HTTP SMS gateway (see :mod:`factorflow.notify.sms`): the request options,
    the request parameter templates and headers, and a description."""

    parameters: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    description: str = Field(default="", max_length=2000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return str(http_url(value))

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("success_status")
    @classmethod
    def _status(cls, value: str) -> str:
        parse_status_range(value)
        return value

    @field_validator("success_regex")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from None
        return value

    @property
    def status_range(self) -> tuple[int, int]:
        return parse_status_range(self.success_status)


def parse_status_range(value: str) -> tuple[int, int]:
    """``"200"`` or ``"200-299"`` → (low, high) within 100..599."""
    low_text, _, high_text = value.strip().partition("-")
    try:
        low = int(low_text)
        high = int(high_text) if high_text else low
    except ValueError:
        raise ValueError("use a status like 200 or a range like 200-299") from None
    if not 100 <= low <= high <= 599:
        raise ValueError("use HTTP statuses between 100 and 599, low before high")
    return low, high


#: privacyIDEA option names → model fields.
_SMS_OPTION_FIELDS = {
    info.alias or name: name for name, info in HttpSmsOptions.model_fields.items()
}
_SMS_API_NAMES = {field: f"option.{name}" for name, field in _SMS_OPTION_FIELDS.items()}


def sms_gateway_options(fields: Mapping[str, Any]) -> SmsGatewayOptions:
    """Read privacyIDEA's gateway form: ``module``, ``description``, ``option.<NAME>``
    (known names configure the request, any other is a request parameter template)
    and ``header.<Name>``. A refusal names the form field."""
    module = str(fields.get("module") or "http")
    if module not in HTTP_MODULES:
        raise ParameterError(f"Invalid parameter 'module': {module!r} is not supported; use 'http'")
    data: dict[str, Any] = {"description": fields.get("description", "")}
    parameters: dict[str, str] = {}
    headers: dict[str, str] = {}
    for key, value in fields.items():
        if key.startswith("option."):
            name = key.removeprefix("option.")
            if name in UNSUPPORTED_SMS_OPTIONS:
                raise ParameterError(f"Invalid parameter {key!r}: not supported by Factorflow")
            if name in _SMS_OPTION_FIELDS:
                data[_SMS_OPTION_FIELDS[name]] = value
            else:
                parameters[name] = _template(key, name, value)
        elif key.startswith("header."):
            name = key.removeprefix("header.")
            if not re.match(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$", name):
                raise ParameterError(f"Invalid parameter {key!r}: not a header name")
            if not isinstance(value, str) or "\n" in value or "\r" in value:
                raise ParameterError(f"Invalid parameter {key!r}: use one line of text")
            headers[name] = value
    data["parameters"] = parameters
    data["headers"] = headers
    if "url" not in data:
        raise ParameterError("Missing parameter: 'option.URL'")
    options: SmsGatewayOptions = validated(SmsGatewayOptions, data, _SMS_API_NAMES)
    return options


def sms_providers() -> dict[str, dict[str, Any]]:
    """``GET /smsgateway/providers``: privacyIDEA's answer shape — per module whether
    free ``option.*`` (request parameter templates) and ``header.*`` are allowed, and
    its ``parameters`` — with Factorflow's descriptors (choices also as privacyIDEA's
    ``values``)."""
    parameters = describe_options(HttpSmsOptions)
    for descriptor in parameters.values():
        if "value" in descriptor:
            descriptor["values"] = descriptor["value"]
    return {
        "http": {
            "description": "An HTTP(S) gateway: GET or POST with parameter templates "
            "({phone}, {otp}, {message}) and headers",
            "options_allowed": True,
            "headers_allowed": True,
            "parameters": parameters,
        }
    }


def _template(key: str, name: str, value: Any) -> str:
    if not re.match(r"^[A-Za-z0-9_.\-\[\]]{1,100}$", name):
        raise ParameterError(f"Invalid parameter {key!r}: not a parameter name")
    if not isinstance(value, str | int | float):
        raise ParameterError(f"Invalid parameter {key!r}: use text")
    text = str(value)
    unknown = sms.unknown_placeholders(text)
    if unknown:
        raise ParameterError(
            f"Invalid parameter {key!r}: unknown placeholder {{{unknown[0]}}}; "
            "use {phone}, {otp} or {message}"
        )
    return text
