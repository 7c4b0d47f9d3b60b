from __future__ import annotations

from factorflow.errors import ConfigError, ResourceNotFoundError


class SmtpServerNotFoundError(ResourceNotFoundError):
    pass


class SmsGatewayNotFoundError(ResourceNotFoundError):
    pass


class SendTestError(ConfigError):
    """A test message could not be sent (unreachable server, refused credentials)."""
