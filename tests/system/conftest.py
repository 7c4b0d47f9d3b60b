"""Fixtures from elsewhere for the system tests: a help-desk admin and policies via the
API (policies), a TCP port that never answers (LDAP)."""

from __future__ import annotations

from tests.policies.conftest import helpdesk_headers, set_policy
from tests.users.ldap.conftest import silent_port

__all__ = ["helpdesk_headers", "set_policy", "silent_port"]
