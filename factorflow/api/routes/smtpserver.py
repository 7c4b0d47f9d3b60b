"""/smtpserver: SMTP server configurations and a test email (admins only).

Parameters as privacyIDEA names them (``server``, ``port``, ``tls``, ``username``,
``password``, ``sender``, ``timeout``, ``description``) plus ``starttls`` and
``tls_verify``. ``tls`` means implicit TLS (SMTPS); ``starttls`` upgrades a plain
connection. Passwords come back as ``__CENSORED__``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from factorflow.api.routing import Call, Routes
from factorflow.core.describe import describe_options
from factorflow.core.invocation import Outcome
from factorflow.notify.options import SmtpOptions
from factorflow.pipeline import Access

routes = Routes("smtpserver")

_NOT_OPTIONS = frozenset({"identifier", "recipient", "nonce"})


def options(params: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in (params.model_extra or {}).items() if k not in _NOT_OPTIONS}


class SmtpListParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    identifier: str = Field(default="", max_length=120)


class SmtpIdentifierParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    identifier: str = Field(min_length=1, max_length=120)


class SmtpTestParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    recipient: str = Field(min_length=1, max_length=254)
    #: A stored configuration to use; inline parameters override it.
    identifier: str = Field(default="", max_length=120)


class NoParams(BaseModel):
    model_config = ConfigDict(extra="allow")


# Before GET /smtpserver/{identifier}: a server named "options" is read with ?identifier=.
@routes.route(
    "GET", "/smtpserver/options", event="smtpserver_list", params=NoParams, access=Access.ADMIN
)
def smtp_options(call: Call[NoParams]) -> Outcome:
    """The descriptors of an SMTP server's options (Factorflow)."""
    return Outcome(value=describe_options(SmtpOptions))


@routes.route(
    "GET", "/smtpserver/", "/smtpserver/{identifier}", event="smtpserver_list",
    params=SmtpListParams, access=Access.ADMIN,
)  # fmt: skip
def list_smtp(call: Call[SmtpListParams]) -> Outcome:
    """List SMTP server configurations (passwords censored), or one."""
    return Outcome(value=call.services.notify.list_smtp(call.session, call.params.identifier))


# Registered before POST /smtpserver/{identifier} so that it is not taken as a name.
@routes.route(
    "POST", "/smtpserver/send_test_email", event="smtpserver_test", params=SmtpTestParams,
    access=Access.ADMIN,
)  # fmt: skip
def send_test_email(call: Call[SmtpTestParams]) -> Outcome:
    """Send a test email now through a stored or inline configuration."""
    p = call.params
    call.audit.action_detail = f"identifier={p.identifier}" if p.identifier else "inline"
    note = call.services.notify.test_smtp(
        call.session, p.recipient, identifier=p.identifier, fields=options(p)
    )
    return Outcome(value=True, detail={"message": note})


@routes.route(
    "POST", "/smtpserver/{identifier}", event="smtpserver_write", params=SmtpIdentifierParams,
    access=Access.ADMIN,
)  # fmt: skip
def save_smtp(call: Call[SmtpIdentifierParams]) -> Outcome:
    """Create or replace an SMTP server configuration."""
    p = call.params
    call.audit.action_detail = f"identifier={p.identifier}"
    return Outcome(value=call.services.notify.save_smtp(call.session, p.identifier, options(p)))


@routes.route(
    "DELETE", "/smtpserver/{identifier}", event="smtpserver_delete", params=SmtpIdentifierParams,
    access=Access.ADMIN,
)  # fmt: skip
def delete_smtp(call: Call[SmtpIdentifierParams]) -> Outcome:
    """Delete an SMTP server configuration."""
    call.audit.action_detail = f"identifier={call.params.identifier}"
    call.services.notify.delete_smtp(call.session, call.params.identifier)
    return Outcome(value=True)
