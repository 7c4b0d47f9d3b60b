"""What token types that forward a check elsewhere (``radius``, ``remote``) get from
the composition root: the owner of a token as the user store reports it, and the
``/validate/check`` of a remote privacyIDEA-compatible server (the ``federation``
package, a layer above the token types, answers it).

A type reads them as ``self.ports``; types that check locally ignore them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from factorflow.errors import FactorflowError
from factorflow.tokens.models import Token
from factorflow.users.identity import User


class ForwardError(FactorflowError):
    """A check could not be forwarded: the server is not configured, did not answer,
    or did not answer in privacyIDEA's format. The message names the server, never
    the password."""


class RemoteServers(Protocol):
    """The remote privacyIDEA-compatible servers (``/privacyideaserver/``)."""

    def exists(self, session: Session, identifier: str) -> bool: ...

    def check(self, session: Session, identifier: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``POST /validate/check`` with ``params`` to the server ``identifier``: the
        remote's JSON body (privacyIDEA's envelope). Raises :class:`ForwardError`."""
        ...


class _NoRemotes:
    def exists(self, session: Session, identifier: str) -> bool:
        return False

    def check(self, session: Session, identifier: str, params: Mapping[str, str]) -> dict[str, Any]:
        raise ForwardError("No remote privacyIDEA servers are configured here.")


def _nobody(session: Session, token: Token) -> User | None:
    return None


@dataclass(frozen=True)
class TypePorts:
    owner: Callable[[Session, Token], User | None] = _nobody
    remote_servers: RemoteServers = field(default_factory=_NoRemotes)
