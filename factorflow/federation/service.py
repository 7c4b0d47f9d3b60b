"""Use cases for remote privacyIDEA servers (``/privacyideaserver/``): save, list,
delete, and a test ``/validate/check`` against one.

Refusals are :class:`~factorflow.errors.ParameterError` naming the field as the API
names it; nothing is stored when one is raised. A server that Federation
definitions forward to cannot be deleted (:class:`RemoteServerInUseError` names
them). The test request's password is sent to the remote and nowhere else: not
into errors, not into the audit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from factorflow.core.checks import check_identifier, http_url, validated
from factorflow.db.named import NamedConfigs
from factorflow.errors import ParameterError
from factorflow.federation.client import RemoteServerSettings, ask
from factorflow.federation.errors import RemoteServerInUseError, RemoteServerNotFoundError
from factorflow.federation.models import RemoteServer

#: The handler module whose definitions name remote servers, and its option.
FEDERATION_MODULE = "Federation"
SERVER_OPTION = "privacyIDEA"


class RemoteServerOptions(BaseModel):
    """A remote server: its base URL (request paths are appended), whether its TLS
    certificate is verified (privacyIDEA's ``tls``, default on) and how many seconds
    each network operation may take (Factorflow's addition; privacyIDEA waits
    forever)."""

    model_config = ConfigDict(extra="ignore")

    url: str = Field(
        min_length=1,
        max_length=2000,
        title="URL",
        description="The server's base URL, e.g. https://mfa.example.org.",
    )
    tls: bool = Field(
        default=True,
        title="Verify TLS certificate",
        description="Against the system's CAs.",
    )
    timeout: float = Field(
        default=10.0,
        gt=0,
        le=120,
        title="Timeout (seconds)",
        description="For each network operation.",
    )
    description: str = Field(default="", max_length=2000, title="Description")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        url = http_url(value)
        if url.userinfo:
            raise ValueError("credentials do not belong into the URL")
        if url.query or url.fragment:
            raise ValueError("use a base URL without query or fragment")
        return str(url).rstrip("/")


class CheckRequest(BaseModel):
    """The test ``/validate/check``: who to check, with which password."""

    model_config = ConfigDict(extra="ignore")

    user: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=2048)
    realm: str = Field(default="", max_length=255)


#: ``(session, handler module, option, value)`` → names of the event definitions of that
#: module whose option has that value (the event framework answers it).
DefinitionsNaming = Callable[[Session, str, str, str], list[str]]


def _nobody(session: Session, module: str, option: str, value: str) -> list[str]:
    return []


def _missing(identifier: str) -> RemoteServerNotFoundError:
    return RemoteServerNotFoundError(f"There is no privacyIDEA server {identifier!r}.")


class FederationService:
    def __init__(self, naming: DefinitionsNaming = _nobody) -> None:
        self._naming = naming
        self.servers = NamedConfigs(RemoteServer, _missing)

    # -- stored servers -------------------------------------------------------------------

    def find(self, session: Session, identifier: str) -> RemoteServer | None:
        return self.servers.find(session, identifier)

    def get(self, session: Session, identifier: str) -> RemoteServer:
        return self.servers.get(session, identifier)

    def save(self, session: Session, identifier: str, fields: Mapping[str, Any]) -> int:
        """Create or replace the remote server ``identifier``; returns its id."""
        check_identifier(identifier)
        options: RemoteServerOptions = validated(RemoteServerOptions, fields, {})
        values = {name: getattr(options, name) for name in _SERVER_FIELDS}
        return self.servers.save(session, identifier, values).id

    def list_servers(self, session: Session, identifier: str = "") -> dict[str, dict[str, Any]]:
        """Servers by identifier, as privacyIDEA lists them (plus ``timeout``)."""
        rows = self.servers.selected(session, identifier)
        return {row.identifier: self.describe(row) for row in rows}

    @staticmethod
    def describe(row: RemoteServer) -> dict[str, Any]:
        return {
            "id": row.id,
            "identifier": row.identifier,
            "url": row.url,
            "tls": row.tls,
            "timeout": row.timeout,
            "description": row.description,
        }

    def users_of(self, session: Session, identifier: str) -> list[str]:
        """Names of the Federation definitions that forward to ``identifier``."""
        return self._naming(session, FEDERATION_MODULE, SERVER_OPTION, identifier)

    def delete(self, session: Session, identifier: str) -> None:
        """Delete ``identifier`` unless a Federation definition forwards to it."""
        row = self.get(session, identifier)
        users = self.users_of(session, identifier)
        if users:
            names = ", ".join(repr(name) for name in users)
            raise RemoteServerInUseError(
                f"The privacyIDEA server {identifier!r} is used by the event definition(s) "
                f"{names}; change or delete them first."
            )
        self.servers.remove(session, row)

    def settings(self, session: Session, identifier: str) -> RemoteServerSettings:
        """What a request to the stored server ``identifier`` needs."""
        row = self.get(session, identifier)
        return RemoteServerSettings(
            identifier=row.identifier, url=row.url, tls=row.tls, timeout=row.timeout
        )

    # -- the test request -----------------------------------------------------------------

    def test_request(
        self, session: Session, *, identifier: str = "", fields: Mapping[str, Any]
    ) -> tuple[bool, dict[str, Any]]:
        """``POST /validate/check`` with ``user``, ``password`` (sent as ``pass``) and
        ``realm`` against the stored server ``identifier`` or an inline ``url``
        (``tls``, ``timeout``), inline values overriding stored ones. Returns whether
        the remote accepted, and a detail with its message and ``origin``. Raises
        :class:`~factorflow.federation.errors.RemoteRequestError` (4xx) when the
        remote cannot be asked or gives no privacyIDEA answer."""
        check: CheckRequest = validated(CheckRequest, fields, {})
        server = self._test_target(session, identifier, fields)
        params = {"user": check.user, "pass": check.password}
        if check.realm:
            params["realm"] = check.realm
        answer = ask(server, "POST", "/validate/check", params)
        result = answer.body["result"]
        detail = answer.body.get("detail")
        accepted = result.get("status") is True and result.get("value") is True
        if result.get("status") is not True:
            error = result.get("error") if isinstance(result.get("error"), dict) else {}
            message = f"The server answered with an error: {error.get('message', '')}".strip()
        elif accepted:
            message = "The server accepted the user and password."
        else:
            remote = detail.get("message") if isinstance(detail, dict) else None
            message = f"The server rejected the request: {remote or 'wrong credentials'}"
        return accepted, {"message": message, "origin": answer.url, "status": answer.status}

    def _test_target(
        self, session: Session, identifier: str, fields: Mapping[str, Any]
    ) -> RemoteServerSettings:
        if identifier:
            check_identifier(identifier)
        row = self.find(session, identifier) if identifier else None
        if fields.get("url"):
            stored = self.describe(row) if row is not None else {}
            inline = {**stored, **{k: v for k, v in fields.items() if k in _SERVER_FIELDS}}
            options: RemoteServerOptions = validated(RemoteServerOptions, inline, {})
            return RemoteServerSettings(
                identifier=identifier, url=options.url, tls=options.tls, timeout=options.timeout
            )
        if row is None:
            if identifier:
                raise RemoteServerNotFoundError(f"There is no privacyIDEA server {identifier!r}.")
            raise ParameterError("Missing parameter: 'identifier' or 'url'")
        return self.settings(session, identifier)


#: A server's options, each a column of its row.
_SERVER_FIELDS = tuple(RemoteServerOptions.model_fields)
