from __future__ import annotations

from factorflow.errors import ConfigError, ResourceNotFoundError


class AdminExistsError(ConfigError):
    pass


class AdminNotFoundError(ResourceNotFoundError):
    pass
