"""What stops a migration before it changes anything."""

from __future__ import annotations

from factorflow.errors import FactorflowError


class MigrationSourceError(FactorflowError):
    """The source installation cannot be read: its config file, key file or database."""

    code = 905
