"""The options of a ``local`` CA connector and its certificate templates.

Names as privacyIDEA's local CA has them where it has them (``cacert``, ``cakey``,
``CRL_Validity_Period``, ``CRL_Overlap_Period``, ``templates``); privacyIDEA's are
file paths for ``openssl ca``, Factorflow's ``cacert`` and ``cakey`` hold the PEM
itself and ``templates`` the YAML text of privacyIDEA's templates file::

    user:
        days: 365
        extensions: user
    webserver:
        days: 750
        extensions: server

Factorflow's own: ``validity_days`` (days an issued certificate is valid without a
template, openssl's ``default_days``), and for a CA generated on creation
``subject``, ``ca_days`` and ``keytype``. privacyIDEA's file options
(``openssl.cnf``, ``WorkingDir``, ``CSRDir``, ``CertificateDir``, ``CRL``) are
accepted and ignored, so that its clients can save a connector unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from factorflow.core.describe import SECRET_OPTION, UI_TYPE
from factorflow.errors import ParameterError
from factorflow.tokens.ca.errors import CAError
from factorflow.tokens.ca.local import EXTENSIONS, parse_subject

#: privacyIDEA's options that name files of ``openssl ca``: nothing to do with them here.
IGNORED = frozenset({"openssl.cnf", "WorkingDir", "CSRDir", "CertificateDir", "CRL"})
MAX_PEM = 20_000
#: What the answer shows of the options (the PEM and the key are separate columns).
STORED = ("validity_days", "CRL_Validity_Period", "CRL_Overlap_Period", "templates", "subject",
          "ca_days", "keytype")  # fmt: skip


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(ge=1, le=36500)
    extensions: str = "user"

    @field_validator("extensions")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in EXTENSIONS:
            raise ValueError(f"extensions must be one of {', '.join(sorted(EXTENSIONS))}")
        return value


def parse_templates(text: str) -> dict[str, Template]:
    """The templates of the YAML text (empty: none); ParameterError naming the fault."""
    if not text.strip():
        return {}
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ParameterError("Invalid parameter 'templates': not YAML") from None
    if not isinstance(data, dict):
        raise ParameterError("Invalid parameter 'templates': a mapping of template names")
    out: dict[str, Template] = {}
    for name, body in data.items():
        try:
            out[str(name)] = Template.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ParameterError(
                f"Invalid parameter 'templates': {name!s:.40} {where}: {first['msg']}"
            ) from None
    return out


class LocalCAOptions(BaseModel):
    """What ``POST /caconnector/<name>`` takes for ``type=local``."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    cacert: str = Field(
        default="",
        max_length=MAX_PEM,
        title="CA certificate",
        description="PEM; empty: generate a new CA.",
        json_schema_extra={UI_TYPE: "text"},
    )
    cakey: Annotated[str, SECRET_OPTION] = Field(
        default="",
        max_length=MAX_PEM,
        title="CA private key",
        description="Unencrypted PEM of the CA's key.",
        json_schema_extra={UI_TYPE: "text"},
    )
    subject: str = Field(
        default="",
        max_length=255,
        title="Subject of a generated CA",
        description="An RFC 4514 name such as 'CN=Example CA,O=Example'; default CN=<name>.",
    )
    ca_days: int = Field(default=3650, ge=1, le=36500, title="Days a generated CA is valid")
    keytype: Literal["ec", "rsa"] = Field(
        default="ec", title="Key of a generated CA", description="ec: P-256, rsa: 3072 bits."
    )
    validity_days: int = Field(
        default=365,
        ge=1,
        le=36500,
        title="Days an issued certificate is valid",
        description="Without a template (a template's days win).",
    )
    CRL_Validity_Period: int = Field(default=30, ge=1, le=3650, title="Days a CRL is valid")
    CRL_Overlap_Period: int = Field(
        default=2,
        ge=0,
        le=3650,
        title="CRL overlap",
        description="A CRL read within this many days of its next update is renewed.",
    )
    templates: str = Field(
        default="",
        max_length=MAX_PEM,
        title="Templates",
        description="YAML: name: {days: N, extensions: user|server}",
        json_schema_extra={UI_TYPE: "text"},
    )

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        if value.strip():
            try:
                parse_subject(value)
            except CAError as exc:
                raise ValueError(exc.message) from None
        return value

    @field_validator("templates")
    @classmethod
    def _templates(cls, value: str) -> str:
        try:
            parse_templates(value)
        except ParameterError as exc:
            raise ValueError(exc.message.removeprefix("Invalid parameter 'templates': ")) from None
        return value

    def stored(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in STORED}


def options_error(exc: ValidationError) -> ParameterError:
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return ParameterError(f"Unknown option {name!r} for CA connector type local")
    return ParameterError(f"Invalid option {name!r} for CA connector type local: {message}")
