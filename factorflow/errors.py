"""The one error hierarchy of Factorflow.

Every error carries a privacyIDEA-compatible numeric ``code`` and an HTTP ``status``.
The API maps errors to envelopes in exactly one place (``factorflow.api.envelope``);
domain code raises these and never thinks about HTTP.
"""

from __future__ import annotations

from typing import Any


class FactorflowError(Exception):
    """Base of all expected errors. ``code`` is privacyIDEA's error number."""

    code: int = 10
    status: int = 400
    #: privacyIDEA prefixes generic errors with ``ERR<code>: ``; auth, policy and
    #: not-found errors carry the bare message.
    prefixed: bool = True
    #: Whether the request's unit of work commits what was done before this error
    #: (a failed login's throttle count must outlive the refusal); post definitions
    #: then run in that unit of work. False for every other error: it rolls back.
    keeps_changes: bool = False
    #: The login and realm the request named, when the error is about that user (an
    #: unknown user): the audit records whom the request was for, even unresolved.
    user_ref: tuple[str, str] | None = None
    #: The error envelope's ``detail`` (e.g. the rejected lines of a token file).
    detail: dict[str, Any] | None = None

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def wire_message(self) -> str:
        return f"ERR{self.code}: {self.message}" if self.prefixed else self.message


class ParameterError(FactorflowError):
    code = 905


class MissingParameterError(ParameterError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Missing parameter: {name!r}")
        self.parameter = name


class UserError(FactorflowError):
    code = 904


class ResolverError(FactorflowError):
    code = 907


class ConfigError(FactorflowError):
    code = 302


class TokenAdminError(FactorflowError):
    code = 301


class ValidateError(FactorflowError):
    code = 401


class EnrollmentError(FactorflowError):
    code = 404


class ServerError(FactorflowError):
    code = 903


class DatabaseError(FactorflowError):
    code = 902


class AuthError(FactorflowError):
    code = 4031
    status = 401
    prefixed = False


class PolicyError(FactorflowError):
    code = 303
    status = 403
    prefixed = False


class ResourceNotFoundError(FactorflowError):
    code = 601
    status = 404
    prefixed = False


class MethodNotAllowedError(FactorflowError):
    code = 4307
    status = 405
    prefixed = False


class PayloadTooLargeError(FactorflowError):
    code = 905
    status = 413
