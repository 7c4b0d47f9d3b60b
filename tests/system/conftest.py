"""The policy fixtures (a help-desk admin, policies via the API) for the system tests."""

from __future__ import annotations

from tests.policies.conftest import helpdesk_headers, set_policy

__all__ = ["helpdesk_headers", "set_policy"]
