from __future__ import annotations

from factorflow.errors import ConfigError, ResolverError, ResourceNotFoundError, UserError


class StoreNotEditableError(ResolverError):
    pass


class ResolverNotFoundError(ResourceNotFoundError):
    pass


class ResolverInUseError(ResolverError):
    pass


class RealmNotFoundError(ResourceNotFoundError):
    pass


class RealmConfigError(ConfigError):
    pass


class UserNotFoundError(UserError):
    pass


class StoreUnavailableError(ResolverError):
    """The backend of a user store (file, database, directory) cannot be read."""


class UserExistsError(UserError):
    pass
