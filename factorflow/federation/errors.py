"""Errors of remote privacyIDEA servers and of forwarding requests to them.

Messages name the server's base URL, never a request's parameters (they may carry
a user's password)."""

from __future__ import annotations

from factorflow.errors import ConfigError, ResourceNotFoundError


class RemoteServerNotFoundError(ResourceNotFoundError):
    """No remote server has the identifier."""


class RemoteServerInUseError(ConfigError):
    """The remote server is the target of Federation definitions; they name it."""


class RemoteRequestError(ConfigError):
    """A remote server could not be asked, or its answer is not privacyIDEA's JSON."""


class RemoteUnreachableError(RemoteRequestError):
    """Connection refused, timed out, TLS verification failed: no answer at all."""


class RemoteAnswerError(RemoteRequestError):
    """The remote server answered, but not with privacyIDEA's JSON envelope."""
