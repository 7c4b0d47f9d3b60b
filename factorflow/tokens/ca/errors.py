"""The CA errors with privacyIDEA's codes (``CAError`` 503, ``CSRError`` 504). Both
are the caller's input or configuration, so a 400 with nothing changed."""

from __future__ import annotations

from factorflow.errors import FactorflowError, ResourceNotFoundError


class CAError(FactorflowError):
    code = 503


class CSRError(CAError):
    code = 504


class CAConnectorNotFoundError(ResourceNotFoundError):
    def __init__(self, name: str) -> None:
        super().__init__(f"The CA connector {name[:120]!r} does not exist.")
