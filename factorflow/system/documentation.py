"""``GET /system/documentation``: the configuration as one reStructuredText document.

What an auditor asks for — system settings, realms, user stores, policies and
administrators — by name and kind only: no resolver options, no secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from factorflow.admins.service import AdminService
from factorflow.db.base import utcnow
from factorflow.policies.service import PolicyService
from factorflow.system.service import SystemConfigService
from factorflow.users.service import UserService

_UNSAFE = re.compile(r"[`\\\x00-\x1f\x7f]")


def literal(value: object) -> str:
    """``value`` as an inline literal that no name can break out of."""
    return f"``{_UNSAFE.sub('?', str(value))[:200]}``"


def section(title: str, lines: Iterable[str]) -> list[str]:
    body = list(lines) or ["(none)"]
    return [title, "-" * len(title), "", *body, ""]


class SystemDocumentation:
    def __init__(
        self,
        system: SystemConfigService,
        users: UserService,
        policies: PolicyService,
        admins: AdminService,
        node: str,
    ) -> None:
        self._system = system
        self._users = users
        self._policies = policies
        self._admins = admins
        self._node = node

    def render(self, session: Session) -> str:
        title = f"Factorflow configuration of {self._node}"
        lines = [title, "=" * len(title), "", f"Written {utcnow():%Y-%m-%d %H:%M} UTC.", ""]
        settings = self._system.effective(session)
        lines += section(
            "System settings", (f"* {literal(k)}: {literal(v)}" for k, v in settings.items())
        )
        lines += section("Realms", self._realms(session))
        resolvers = self._users.list_resolvers(session)
        lines += section(
            "User stores (resolvers)",
            (f"* {literal(name)}: {literal(r['type'])}" for name, r in resolvers.items()),
        )
        lines += section("Policies", (self._policy(p) for p in self._policies.list(session)))
        lines += section(
            "Administrators", (f"* {literal(a.username)}" for a in self._admins.list(session))
        )
        return "\n".join(lines)

    def _realms(self, session: Session) -> Iterable[str]:
        for name, realm in self._users.list_realms(session).items():
            members = ", ".join(literal(r["name"]) for r in realm["resolver"]) or "no resolver"
            default = " (default)" if realm["default"] else ""
            yield f"* {literal(name)}{default}: {members}"

    @staticmethod
    def _policy(policy: dict[str, Any]) -> str:
        state = "active" if policy.get("active") else "inactive"
        return (
            f"* {literal(policy['name'])}: scope {literal(policy.get('scope', ''))}, {state}, "
            f"priority {literal(policy.get('priority', ''))}, "
            f"actions {literal(policy.get('action', ''))}"
        )
