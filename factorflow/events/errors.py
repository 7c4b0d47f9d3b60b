"""Errors of the event framework."""

from __future__ import annotations

from factorflow.errors import FactorflowError, ParameterError


class HandlerAbortError(FactorflowError):
    """An action failed and its definition says abort_on_error: the request fails
    with privacyIDEA's code 903 and HTTP 400."""

    code = 903
    status = 400


class DefinitionError(ParameterError):
    """A definition (or its options, conditions, expression) is invalid; names the field."""


class ActionError(Exception):
    """Raised by an action that could not do its job; audited as success=false.

    The message is logged, never written into the audit (it may carry secrets);
    the audit shows only the class name, as privacyIDEA does."""
