"""Use cases for SMTP server and SMS gateway configurations: save, list, delete,
test-send, and the plain-text settings the deliverers send with.

Refusals are :class:`ParameterError` naming the field as the API names it;
nothing is stored when one is raised. Passwords are encrypted at rest, bound to
``smtpserver:<identifier>:password``, and read back as ``__CENSORED__``; sending the
censored value back on update keeps the stored one. SMS gateways keep every header
value, and each request parameter whose name says credential (``password``,
``api_key``, ``token``, ...), the same way, bound to
``smsgateway:<identifier>:header:<name>`` / ``...:option:<name>``; they are opened only
to send.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.core.checks import check_identifier, validated
from factorflow.core.redaction import CENSORED
from factorflow.crypto import SecretBox
from factorflow.db.named import NamedConfigs, SealedValues
from factorflow.errors import ParameterError
from factorflow.jobs.base import DeliveryError
from factorflow.notify import sms, smtp
from factorflow.notify.errors import SendTestError, SmsGatewayNotFoundError, SmtpServerNotFoundError
from factorflow.notify.gateway_secrets import HEADER, OPTION, GatewaySecrets, censored
from factorflow.notify.models import SmsGateway, SmtpServer
from factorflow.notify.options import (
    BASIC_AUTH_OPTIONS,
    SmsGatewayOptions,
    SmtpOptions,
    sms_gateway_options,
)

#: The options of an SMTP server stored as they are (the password is sealed).
_SMTP_COLUMNS = tuple(name for name in SmtpOptions.model_fields if name != "password")
TEST_SUBJECT = "Factorflow test email"
TEST_BODY = "This is a test email from Factorflow. Your SMTP server configuration works."


def _smtp_missing(identifier: str) -> SmtpServerNotFoundError:
    return SmtpServerNotFoundError(f"There is no SMTP server {identifier!r}.")


def _sms_missing(identifier: str) -> SmsGatewayNotFoundError:
    return SmsGatewayNotFoundError(f"There is no SMS gateway {identifier!r}.")


def smtp_server_exists(session: Session, identifier: str) -> bool:
    return (
        session.scalar(select(SmtpServer.id).where(SmtpServer.identifier == identifier)) is not None
    )


def sms_gateway_exists(session: Session, identifier: str) -> bool:
    return (
        session.scalar(select(SmsGateway.id).where(SmsGateway.identifier == identifier)) is not None
    )


class NotifyService:
    def __init__(self, box: SecretBox) -> None:
        self.box = box
        self.smtp = NamedConfigs(SmtpServer, _smtp_missing)
        self.sms = NamedConfigs(SmsGateway, _sms_missing)
        self.smtp_secrets = SealedValues(box, "smtpserver")
        self.gateway_secrets = GatewaySecrets(box)

    # -- SMTP servers ------------------------------------------------------------------

    def find_smtp(self, session: Session, identifier: str) -> SmtpServer | None:
        return self.smtp.find(session, identifier)

    def get_smtp(self, session: Session, identifier: str) -> SmtpServer:
        return self.smtp.get(session, identifier)

    def save_smtp(self, session: Session, identifier: str, fields: Mapping[str, Any]) -> int:
        """Create or replace the SMTP server ``identifier``; returns its id."""
        check_identifier(identifier)
        row = self.smtp.find(session, identifier)
        options: SmtpOptions = validated(SmtpOptions, fields, {})
        if options.password == CENSORED:  # keeps the stored ciphertext ("" for none)
            password = row.password if row is not None else ""
        else:
            password = self.smtp_secrets.seal(options.password, identifier, "password")
        values = {name: getattr(options, name) for name in _SMTP_COLUMNS}
        return self.smtp.save(session, identifier, {**values, "password": password}, row=row).id

    def list_smtp(self, session: Session, identifier: str = "") -> dict[str, dict[str, Any]]:
        """Configurations by identifier, passwords censored; one if ``identifier``."""
        rows = self.smtp.selected(session, identifier)
        return {row.identifier: self.describe_smtp(row) for row in rows}

    @staticmethod
    def describe_smtp(row: SmtpServer) -> dict[str, Any]:
        return {
            "identifier": row.identifier,
            "server": row.server,
            "port": row.port,
            "tls": row.tls,
            "starttls": row.starttls,
            "tls_verify": row.tls_verify,
            "username": row.username,
            "password": SealedValues.censored(row.password),
            "sender": row.sender,
            "timeout": row.timeout,
            "description": row.description,
            # privacyIDEA's flag; in Factorflow every email is a durable job.
            "enqueue_job": True,
        }

    def delete_smtp(self, session: Session, identifier: str) -> None:
        self.smtp.delete(session, identifier)

    def smtp_settings(self, session: Session, identifier: str) -> smtp.SmtpSettings:
        """The configuration ``identifier`` with its password decrypted."""
        row = self.get_smtp(session, identifier)
        return self._smtp_settings(row)

    def _smtp_settings(self, row: SmtpServer) -> smtp.SmtpSettings:
        password = self.smtp_secrets.open(row.password, row.identifier, "password")
        return smtp.SmtpSettings(
            server=row.server,
            port=row.port,
            sender=row.sender,
            tls=row.tls,
            starttls=row.starttls,
            tls_verify=row.tls_verify,
            username=row.username,
            password=password,
            timeout=row.timeout,
        )

    def test_smtp(
        self,
        session: Session,
        recipient: str,
        *,
        identifier: str = "",
        fields: Mapping[str, Any] | None = None,
    ) -> str:
        """Send a test email to ``recipient`` through the stored configuration
        ``identifier``, through inline ``fields``, or through the stored one with the
        inline fields overriding it (a censored password means the stored one).
        Raises :class:`SendTestError` (4xx) when the server cannot be used."""
        if not smtp.is_address(recipient):
            raise ParameterError("Invalid parameter 'recipient': not an email address")
        fields = dict(fields or {})
        row = self.find_smtp(session, identifier) if identifier else None
        if identifier and row is None and not fields.get("server"):
            raise SmtpServerNotFoundError(f"There is no SMTP server {identifier!r}.")
        if row is not None and not fields.get("server"):
            config = self._smtp_settings(row)
        else:
            options: SmtpOptions = validated(SmtpOptions, fields, {})
            password = options.password
            if password == CENSORED:
                password = self._smtp_settings(row).password if row is not None else ""
            config = smtp.SmtpSettings(
                server=options.server,
                port=options.port,
                sender=options.sender,
                tls=options.tls,
                starttls=options.starttls,
                tls_verify=options.tls_verify,
                username=options.username,
                password=password,
                timeout=options.timeout,
            )
        email = smtp.Email(to=(recipient,), subject=TEST_SUBJECT, body=TEST_BODY)
        try:
            return smtp.send(config, email, f"test-{uuid.uuid4().hex}@factorflow")
        except DeliveryError as exc:
            raise SendTestError(str(exc)) from None

    # -- SMS gateways ------------------------------------------------------------------

    def find_sms(self, session: Session, identifier: str) -> SmsGateway | None:
        return self.sms.find(session, identifier)

    def get_sms(self, session: Session, identifier: str) -> SmsGateway:
        return self.sms.get(session, identifier)

    def save_sms(self, session: Session, identifier: str, fields: Mapping[str, Any]) -> int:
        """Create or replace the SMS gateway ``identifier`` from privacyIDEA's form
        (``module``, ``description``, ``option.*``, ``header.*``); returns its id."""
        check_identifier(identifier, "name")
        row = self.sms.find(session, identifier)
        options: SmsGatewayOptions = sms_gateway_options(fields)
        stored = self.gateway_secrets.opened(row) if row is not None else {}
        secrets = self.gateway_secrets
        low, high = options.status_range
        values = {
            "module": "http",
            "url": options.url,
            "method": options.method,
            "json_body": options.json_body,
            "parameters": secrets.sealed(identifier, OPTION, options.parameters, stored),
            "headers": secrets.sealed(identifier, HEADER, options.headers, stored),
            "success_status_min": low,
            "success_status_max": high,
            "success_regex": options.success_regex,
            "tls_verify": options.tls_verify,
            "timeout": options.timeout,
            "description": options.description,
        }
        return self.sms.save(session, identifier, values, row=row).id

    def sms_identifiers(self, session: Session) -> list[str]:
        return self.sms.names(session)

    def list_sms(self, session: Session, identifier: str = "") -> list[dict[str, Any]]:
        """Gateways as privacyIDEA lists them, secret values censored."""
        return [self.describe_sms(row) for row in self.sms.selected(session, identifier)]

    def seal_stored_secrets(self, session: Session) -> int:
        """Seal gateway secrets stored in plaintext before they were sealed; returns
        how many gateways changed. Idempotent."""
        rows = self.sms.all(session)
        changed = sum(1 for row in rows if self.gateway_secrets.seal_plain(row))
        session.flush()
        return changed

    @staticmethod
    def describe_sms(row: SmsGateway) -> dict[str, Any]:
        status = f"{row.success_status_min}-{row.success_status_max}"
        options: dict[str, Any] = {
            "URL": row.url,
            "HTTP_METHOD": row.method,
            "SEND_DATA_AS_JSON": row.json_body,
            "SUCCESS_STATUS": status,
            "RETURN_SUCCESS": row.success_regex,
            "CHECK_SSL": row.tls_verify,
            "TIMEOUT": row.timeout,
            **censored(OPTION, row.parameters),
        }
        headers = censored(HEADER, row.headers)
        return {
            "id": row.id,
            "name": row.identifier,
            "providermodule": row.module,
            "description": row.description,
            "options": options,
            "headers": headers,
        }

    def delete_sms(self, session: Session, identifier: str) -> None:
        self.sms.delete(session, identifier)

    def sms_settings(self, session: Session, identifier: str) -> sms.SmsSettings:
        row = self.get_sms(session, identifier)
        secrets = self.gateway_secrets.opened(row)
        parameters = {
            **row.parameters,
            **{n: v for (p, n), v in secrets.items() if p == OPTION},
        }
        username, password = (parameters.pop(name, "") for name in BASIC_AUTH_OPTIONS)
        return sms.SmsSettings(
            url=row.url,
            method=row.method,
            json_body=row.json_body,
            parameters=parameters,
            basic_auth=(username, password) if username else None,
            headers={n: v for (p, n), v in secrets.items() if p == HEADER},
            success_status_min=row.success_status_min,
            success_status_max=row.success_status_max,
            success_regex=row.success_regex,
            tls_verify=row.tls_verify,
            timeout=row.timeout,
        )

    def test_sms(self, session: Session, identifier: str, phone: str, message: str) -> str:
        """Send ``message`` to ``phone`` through gateway ``identifier`` now."""
        if not sms.is_phone(phone):
            raise ParameterError("Invalid parameter 'phone': not a phone number")
        config = self.sms_settings(session, identifier)
        try:
            return sms.send(config, phone, message, f"test-{uuid.uuid4().hex}@factorflow")
        except DeliveryError as exc:
            raise SendTestError(str(exc)) from None
