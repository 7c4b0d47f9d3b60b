from __future__ import annotations

from factorflow.errors import ConfigError, ParameterError, ResourceNotFoundError


class JobNotFoundError(ResourceNotFoundError):
    pass


class JobStateError(ParameterError):
    """The job is in a state that does not allow the requested change."""


class UnknownJobKindError(ConfigError):
    pass
