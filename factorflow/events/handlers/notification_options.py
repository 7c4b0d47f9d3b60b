"""The options of the UserNotification actions (sendmail, sendsms, savefile) and the
checks they apply when a definition is saved: recipients, templates inside the template
directory, file names inside the spool (see :mod:`factorflow.events.handlers.notification`)."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from factorflow.events.errors import ActionError
from factorflow.events.handlers.base import (
    CHOICES_FROM,
    VISIBLE_IF,
    ActionOptions,
    Template,
)
from factorflow.events.tags import check_template

if TYPE_CHECKING:
    pass


DEFAULT_SUBJECT = "An action was performed on your token."
DEFAULT_BODY = (
    "Hello {user},\n\nthe administrator {admin}@{realm} performed the action {action} "
    "on your token {serial}.\n\nTo check your tokens you may login to the Web UI:\n{url}\n"
)
DEFAULT_SMS = "An action ({action}) was performed on your token {serial}."
FILE_PREFIX = "file:"
QR_CID = "token_image"
RANDOM_TAG = "{random}"
Recipient = Literal["tokenowner", "logged_in_user", "internal admin", "admin realm", "email"]
ReplyTo = Literal["", "tokenowner", "logged_in_user", "internal admin", "admin realm", "email"]
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()/-]{2,30}$")
MAX_TEMPLATE_BYTES = 256 * 1024


class NoRecipientError(ActionError):
    """The notification has nobody to go to: a failure, never a silent success."""


class TemplateError(ActionError):
    """A body template cannot be read."""


# -- template files and spool paths -------------------------------------------------------


def _relative(name: str, what: str) -> PurePosixPath:
    if not name or "\x00" in name or "\\" in name:
        raise ValueError(f"{what} {name!r} is not a valid relative path")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"{what} {name!r} must stay inside its directory (no '..', not absolute)")
    return path


def confined(directory: Path, name: str, what: str) -> Path:
    """``directory/name`` with no component being a symbolic link; refuses escapes."""
    relative = _relative(name, what)
    base = directory.resolve()
    current = base
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            raise ValueError(f"{what} {name!r} goes through a symbolic link")
    if not current.resolve().is_relative_to(base):
        raise ValueError(f"{what} {name!r} leaves its directory")
    return current


def read_template(directory: Path, value: str) -> str:
    """The text of ``file:<name>`` inside ``directory`` (ValueError if it cannot be used)."""
    name = value[len(FILE_PREFIX) :].strip()
    path = confined(directory, name, "template")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ValueError(f"template {name!r} cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_TEMPLATE_BYTES + 1)
    if len(data) > MAX_TEMPLATE_BYTES:
        raise ValueError(f"template {name!r} is larger than {MAX_TEMPLATE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"template {name!r} is not UTF-8 text") from None


def check_filename(value: str) -> str:
    check_template(value.replace(RANDOM_TAG, ""))
    _relative(value, "filename")
    return value


def check_addresses(value: str) -> str:
    for address in split_list(value):
        valid_address(address)
    return value


def split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def valid_address(address: str) -> str:
    if len(address) > 254 or not EMAIL.match(address) or ".." in address:
        raise ValueError(f"{address!r} is not a valid email address")
    return address


# -- options ---------------------------------------------------------------------------


class FloodOptions(ActionOptions):
    flood_limit: int = Field(
        title="Flood limit",
        default=0,
        ge=0,
        le=100000,
        description="At most this many notifications per recipient per flood_window (0 = no limit)",
    )
    flood_window: int = Field(
        title="Flood window (seconds)",
        default=3600,
        ge=1,
        le=31 * 86400,
        description="Flood control window in seconds",
    )


#: The key of the validation context (:meth:`UserNotificationHandler.options_context`)
#: that holds the template directory ``file:`` bodies are read from.
TEMPLATE_DIRECTORY = "template_directory"


class BodyOptions(FloodOptions):
    @field_validator("body", check_fields=False)
    @classmethod
    def _body(cls, value: str, info: ValidationInfo) -> str:
        if value.startswith(FILE_PREFIX):
            directory = (info.context or {}).get(TEMPLATE_DIRECTORY)
            if not isinstance(directory, Path):
                raise ValueError("file: templates need a template directory")
            check_template(read_template(directory, value))
            return value
        return check_template(value)


def _when(option: str, value: str, choices: str = "") -> dict[str, Any]:
    """Descriptor extras of a recipient detail: shown only for its recipient type (as
    privacyIDEA marks them), with the live list ``choices`` if given."""
    extra: dict[str, Any] = {VISIBLE_IF: [option, value]}
    if choices:
        extra[CHOICES_FROM] = choices
    return extra


class SendmailOptions(BodyOptions):
    emailconfig: str = Field(
        title="SMTP server",
        min_length=1,
        max_length=120,
        description="SMTP server configuration to send through",
        json_schema_extra={CHOICES_FROM: "smtp_servers"},
    )
    mimetype: Literal["plain", "html"] = Field(
        title="Body type", default="plain", description="Body type"
    )
    attach_qrcode: bool = Field(
        title="Attach the QR code", default=False, description="Attach the enrolment QR code"
    )
    subject: Template = Field(
        title="Subject", default=DEFAULT_SUBJECT, max_length=500, description="Subject"
    )
    body: str = Field(
        title="Body",
        default=DEFAULT_BODY,
        max_length=20000,
        description="Body with tags, or file:<name> of a template in the template directory",
        json_schema_extra={"ui_type": "text"},
    )
    to: Recipient = Field(
        title="Recipient", default="tokenowner", alias="To", description="Recipient type"
    )
    to_tokenowner: str = Field(
        title="Address attribute of the token owner",
        default="email",
        max_length=80,
        alias="To tokenowner",
        json_schema_extra=_when("To", "tokenowner"),
        description="The token owner's user attribute holding the address",
    )
    to_logged_in_user: str = Field(
        title="Address attribute of the logged-in user",
        default="email",
        max_length=80,
        alias="To logged_in_user",
        json_schema_extra=_when("To", "logged_in_user"),
        description="The logged-in user's attribute holding the address",
    )
    to_internal_admin: str = Field(
        title="Internal administrators",
        default="",
        max_length=500,
        alias="To internal admin",
        json_schema_extra=_when("To", "internal admin", "internal_admins"),
        description="The internal admins to send to, comma-separated",
    )
    to_admin_realm: str = Field(
        title="Recipients' realm",
        default="",
        max_length=120,
        alias="To admin realm",
        json_schema_extra=_when("To", "admin realm", "realms"),
        description="The realm whose users (with an email address) get the notification",
    )
    to_email: str = Field(
        title="Email addresses",
        default="",
        max_length=2000,
        alias="To email",
        json_schema_extra=_when("To", "email"),
        description="The addresses to send to, comma-separated",
    )
    reply_to: ReplyTo = Field(title="Reply-To", default="", description="Reply-To type")
    reply_to_tokenowner: str = Field(
        title="Reply-To attribute of the token owner",
        default="email",
        max_length=80,
        alias="reply_to tokenowner",
        json_schema_extra=_when("reply_to", "tokenowner"),
        description="The token owner's user attribute holding the Reply-To address",
    )
    reply_to_logged_in_user: str = Field(
        title="Reply-To attribute of the logged-in user",
        default="email",
        max_length=80,
        alias="reply_to logged_in_user",
        json_schema_extra=_when("reply_to", "logged_in_user"),
        description="The logged-in user's attribute holding the Reply-To address",
    )
    reply_to_internal_admin: str = Field(
        title="Reply-To internal administrators",
        default="",
        max_length=500,
        alias="reply_to internal admin",
        json_schema_extra=_when("reply_to", "internal admin", "internal_admins"),
        description="The internal admins to reply to, comma-separated",
    )
    reply_to_admin_realm: str = Field(
        title="Reply-To realm",
        default="",
        max_length=120,
        alias="reply_to admin realm",
        json_schema_extra=_when("reply_to", "admin realm", "realms"),
        description="The realm whose users are the Reply-To addresses",
    )
    reply_to_email: str = Field(
        title="Reply-To addresses",
        default="",
        max_length=2000,
        alias="reply_to email",
        json_schema_extra=_when("reply_to", "email"),
        description="The Reply-To addresses, comma-separated",
    )

    @field_validator("to_email", "reply_to_email")
    @classmethod
    def _emails(cls, value: str) -> str:
        return check_addresses(value)


class SendsmsOptions(BodyOptions):
    smsconfig: str = Field(
        title="SMS gateway",
        min_length=1,
        max_length=120,
        description="SMS gateway configuration",
        json_schema_extra={CHOICES_FROM: "sms_gateways"},
    )
    body: str = Field(
        title="Body",
        default=DEFAULT_SMS,
        max_length=2000,
        description="Message with tags, or file:<name> of a template",
        json_schema_extra={"ui_type": "text"},
    )
    to: Literal["tokenowner"] = Field(
        title="Recipient",
        default="tokenowner",
        alias="To",
        description="Recipient type: the token owner's mobile",
    )


class SavefileOptions(BodyOptions):
    body: str = Field(
        title="Body",
        min_length=1,
        max_length=100000,
        description="File content with tags, or file:<name>",
    )
    filename: str = Field(
        title="File name",
        min_length=1,
        max_length=255,
        description="File name inside the spool directory; tags and {random} allowed",
    )

    @field_validator("filename")
    @classmethod
    def _filename(cls, value: str) -> str:
        return check_filename(value)


# -- rendering -------------------------------------------------------------------------
