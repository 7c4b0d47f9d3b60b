"""Use cases for RADIUS server configurations (``/radiusserver/``): save, list,
delete, and a test Access-Request.

Parameters as privacyIDEA 3.14 names them: ``server``, ``port`` (1812), ``secret``,
``dictionary`` (``/etc/privacyidea/dictionary``), ``description``, ``timeout``
(5 seconds) and ``retries`` (3). The shared secret is encrypted at rest, bound to
``radiusserver:<identifier>:secret``, and never listed (privacyIDEA leaves it out
too); ``__CENSORED__`` sent back on an update keeps the stored one. Refusals are
:class:`~factorflow.errors.ParameterError` naming the field; nothing is stored when
one is raised. The test request's password goes to the RADIUS server only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from factorflow.core.checks import check_identifier, validated
from factorflow.core.describe import Secret
from factorflow.crypto import SecretBox
from factorflow.db.named import NamedConfigs, SealedValues
from factorflow.errors import ParameterError
from factorflow.radius.client import RadiusReply, RadiusSettings, access_request
from factorflow.radius.errors import RadiusServerNotFoundError
from factorflow.radius.models import RadiusServer

DEFAULT_DICTIONARY = "/etc/privacyidea/dictionary"


class RadiusServerOptions(BaseModel):
    """A RADIUS server: where it listens, the shared secret, and how long to wait."""

    model_config = ConfigDict(extra="ignore")

    server: str = Field(
        min_length=1, max_length=255, title="Server", description="Host name or IP address."
    )
    port: int = Field(default=1812, ge=1, le=65535, title="Port")
    secret: Secret = Field(min_length=1, max_length=255, title="Shared secret")
    dictionary: str = Field(
        default=DEFAULT_DICTIONARY,
        max_length=1000,
        title="Dictionary",
        description="A RADIUS dictionary file; the built-in attributes when it does not exist.",
    )
    description: str = Field(default="", max_length=2000, title="Description")
    timeout: int = Field(default=5, ge=1, le=60, title="Timeout (seconds)")
    retries: int = Field(default=3, ge=1, le=10, title="Retries")

    @field_validator("server")
    @classmethod
    def _server(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c.isspace() or c in "/@?#" for c in value):
            raise ValueError("a host name or an IP address")
        return value


class TestRequest(BaseModel):
    """The test Access-Request: who, with which password."""

    model_config = ConfigDict(extra="ignore")

    username: str = Field(min_length=1, max_length=253)
    password: str = Field(min_length=1, max_length=128)


def _missing(identifier: str) -> RadiusServerNotFoundError:
    return RadiusServerNotFoundError(f"There is no RADIUS server {identifier!r}.")


#: The options stored as they are (the secret is sealed).
_COLUMNS = tuple(name for name in RadiusServerOptions.model_fields if name != "secret")


class RadiusService:
    def __init__(self, box: SecretBox) -> None:
        self.servers = NamedConfigs(RadiusServer, _missing)
        self.secrets = SealedValues(box, "radiusserver")

    def save(self, session: Session, identifier: str, fields: Mapping[str, Any]) -> int:
        """Create or replace the RADIUS server ``identifier``; returns its id."""
        check_identifier(identifier)
        row = self.servers.find(session, identifier)
        options: RadiusServerOptions = validated(RadiusServerOptions, fields, {})
        stored = row.secret if row is not None else None
        secret = SealedValues.kept(
            options.secret, stored, lambda: ParameterError("Missing parameter: 'secret'")
        )
        if secret != stored:
            secret = self.secrets.seal(secret, identifier, "secret")
        values = {name: getattr(options, name) for name in _COLUMNS}
        return self.servers.save(session, identifier, {**values, "secret": secret}, row=row).id

    def list_servers(self, session: Session, identifier: str = "") -> dict[str, dict[str, Any]]:
        """Servers by identifier (one if ``identifier``), without their secrets."""
        return {
            row.identifier: self.describe(row) for row in self.servers.selected(session, identifier)
        }

    @staticmethod
    def describe(row: RadiusServer) -> dict[str, Any]:
        return {
            "identifier": row.identifier,
            "server": row.server,
            "port": row.port,
            "dictionary": row.dictionary,
            "description": row.description,
            "timeout": row.timeout,
            "retries": row.retries,
        }

    def delete(self, session: Session, identifier: str) -> None:
        self.servers.delete(session, identifier)

    def settings(self, session: Session, identifier: str) -> RadiusSettings:
        """What a request to the stored server ``identifier`` needs, secret opened."""
        return self._settings(self.servers.get(session, identifier))

    def _settings(self, row: RadiusServer) -> RadiusSettings:
        return RadiusSettings(
            identifier=row.identifier,
            server=row.server,
            port=row.port,
            secret=self.secrets.open(row.secret, row.identifier, "secret"),
            dictionary=row.dictionary,
            timeout=row.timeout,
            retries=row.retries,
        )

    def test_request(
        self, session: Session, *, identifier: str, fields: Mapping[str, Any]
    ) -> tuple[bool, dict[str, Any]]:
        """An Access-Request for ``username`` / ``password`` to the stored server
        ``identifier``, its options overridden by those given inline (privacyIDEA's
        dialog sends them all). Whether it was accepted, and a detail with the reply.
        Raises :class:`~factorflow.radius.errors.RadiusRequestError` (4xx) when no
        valid answer arrives."""
        test: TestRequest = validated(TestRequest, fields, {})
        row = self.servers.find(session, check_identifier(identifier)) if identifier else None
        inline = {k: v for k, v in fields.items() if k in RadiusServerOptions.model_fields}
        if row is not None:
            stored = {**self.describe(row), "secret": self._settings(row).secret}
            secret = SealedValues.kept(
                str(inline.get("secret", "__CENSORED__")), stored["secret"], _nothing
            )
            inline = {**stored, **inline, "secret": secret}
        elif not inline.get("server"):
            raise (
                _missing(identifier)
                if identifier
                else ParameterError("Missing parameter: 'server'")
            )
        options: RadiusServerOptions = validated(RadiusServerOptions, inline, {})
        target = RadiusSettings(
            identifier=identifier or "inline", **options.model_dump(exclude={"description"})
        )
        answer = access_request(target, test.username, test.password)
        accepted = answer.reply is RadiusReply.ACCEPT
        detail = {
            "message": f"The RADIUS server answered {answer.reply.value}.",
            "reply": answer.reply.value,
        }
        if answer.message:
            detail["reply_message"] = answer.message
        return accepted, detail


def _nothing() -> ParameterError:
    return ParameterError("Missing parameter: 'secret'")
