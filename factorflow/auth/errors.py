"""Errors of POST /auth: a failed or refused login."""

from __future__ import annotations

from factorflow.errors import AuthError, ResourceNotFoundError
from factorflow.users.identity import User

WRONG_CREDENTIALS = "Authentication failure. Wrong credentials"
#: Answers of a throttled login (docs/security.md); post definitions of the ``auth``
#: event tell them apart with ``detail_error_message`` (or by the error code).
BACKOFF = "Authentication failure. Too many failed logins, try again later."
LOCKED = "Authentication failure. Too many failed logins, temporarily locked."
LOCKED_NOW = "Authentication failure. Too many failed logins, now temporarily locked."
#: privacyIDEA's 403x "authenticate" family; these two are Factorflow's.
BACKOFF_CODE = 4035
LOCKED_CODE = 4036


class FailedLoginError(AuthError):
    """A login that failed or was refused (401). The failure count written before it
    is kept (``keeps_changes``); ``audit_info`` says why, for the audit log only."""

    keeps_changes = True

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        audit_info: str = "",
        user: User | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.audit_info = audit_info
        #: The realm user the login was for, when the name was found.
        self.user = user


class ThrottleNotFoundError(ResourceNotFoundError):
    pass
