"""The policy fixtures (a help-desk admin) for the audit download's rights."""

from __future__ import annotations

from tests.policies.conftest import helpdesk_headers

__all__ = ["helpdesk_headers"]
