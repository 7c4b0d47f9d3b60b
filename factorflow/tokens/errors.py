"""Errors of the token use cases, mapped to privacyIDEA's codes by their base classes."""

from __future__ import annotations

from factorflow.errors import ParameterError, PolicyError, ResourceNotFoundError, TokenAdminError


class TokenNotFoundError(ResourceNotFoundError):
    """No token matches, or the caller may not see it (a user-role caller asking for
    someone else's serial gets exactly the same answer, so nothing leaks)."""

    def __init__(self, message: str = "The requested token could not be found.") -> None:
        super().__init__(message)


class TokenGroupNotFoundError(ResourceNotFoundError):
    def __init__(self, name: str) -> None:
        super().__init__(f"The tokengroup {name!r} does not exist.")


class TokenAlreadyAssignedError(TokenAdminError):
    def __init__(self) -> None:
        super().__init__("Token already assigned to another user.", code=1103)


class InvalidSerialError(ParameterError):
    def __init__(self) -> None:
        super().__init__("Invalid serial number.")


class TokenPolicyError(PolicyError):
    """A user-role caller asked for something only an administrator may do."""


__all__ = [
    "InvalidSerialError",
    "TokenAlreadyAssignedError",
    "TokenGroupNotFoundError",
    "TokenNotFoundError",
    "TokenPolicyError",
]
