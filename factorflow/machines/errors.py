"""The machines' errors, in the one hierarchy (privacyIDEA's codes)."""

from __future__ import annotations

from factorflow.errors import ResolverError, ResourceNotFoundError


class MachineResolverError(ResolverError):
    """A machine resolver's backend cannot be read (a file gone, a directory down):
    the request's configuration is at fault, so a 400, never a 500."""


class MachineNotFoundError(ResourceNotFoundError):
    """No such machine, machine resolver, service id or token link."""
