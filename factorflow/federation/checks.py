"""The ``remote`` token type's port to remote privacyIDEA servers
(:class:`factorflow.tokens.ports.RemoteServers`): a ``/validate/check`` sent to a
stored server, its failures as :class:`~factorflow.tokens.ports.ForwardError`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from factorflow.errors import FactorflowError
from factorflow.federation.client import ask
from factorflow.federation.service import FederationService
from factorflow.tokens.ports import ForwardError


class ForwardedChecks:
    def __init__(self, federation: FederationService) -> None:
        self.federation = federation

    def exists(self, session: Session, identifier: str) -> bool:
        return bool(identifier) and self.federation.find(session, identifier) is not None

    def check(self, session: Session, identifier: str, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            server = self.federation.settings(session, identifier)
            return ask(server, "POST", "/validate/check", params).body
        except FactorflowError as exc:
            raise ForwardError(exc.message) from None
