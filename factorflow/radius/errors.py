"""Errors of RADIUS server configurations and of requests to them. Messages name the
server, never a password or the shared secret."""

from __future__ import annotations

from factorflow.errors import ConfigError, ResourceNotFoundError


class RadiusServerNotFoundError(ResourceNotFoundError):
    """No RADIUS server has the identifier."""


class RadiusRequestError(ConfigError):
    """No valid answer: the server did not reply in time (or with a wrong shared
    secret, whose replies are dropped as invalid), the socket failed, or the request
    could not be encoded."""
