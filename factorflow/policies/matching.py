"""Which policies apply to a request, and what they decide.

**Matching.** An active policy of the scope matches when every one of its
conditions holds; an empty condition matches everything, and a request attribute
the caller does not know (``None`` in :class:`MatchContext`) is not checked, as in
privacyIDEA:

* realm / resolver / adminrealm: the request's value is in the list (case-insensitive);
* user / adminuser: the login matches an include pattern (or there is none) and no
  exclude pattern (``!``/``-``);
* client: the client IP lies in an included network (or there is none) and in no
  excluded one;
* time: the current local time lies in one of the windows;
* conditions on ``userinfo`` / ``tokeninfo``: all active ones hold; missing data
  is handled as each condition says (``raise_error`` refuses the request with a
  policy error, never a 500).

**Decisions.** Boolean actions and rights are *additive*: on when any matching
policy sets them. A ``unique`` value action takes the value of the matching
policies with the *lowest priority number*; if those disagree the request fails
with PolicyError 303 "There are conflicting <action> definitions!" (privacyIDEA's
rule). Non-unique actions (``tokentype``, ``challenge_response``, ...) collect the
space-separated values of every matching policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from factorflow.core.compare import compare
from factorflow.errors import PolicyError
from factorflow.policies.actions import ActionValue
from factorflow.policies.models import Policy
from factorflow.policies.parse import (
    ClientSpec,
    Condition,
    TimeWindow,
    UserSpec,
    client_spec,
    conditions,
    time_windows,
    user_spec,
)

Facts = Callable[[], Mapping[str, str] | None]


@dataclass
class MatchContext:
    """What a request is about. ``None`` means "unknown: do not check"."""

    realm: str | None = None
    resolver: str | None = None
    user: str | None = None
    adminrealm: str | None = None
    adminuser: str | None = None
    client: str | None = None
    now: datetime | None = None
    userinfo: Facts | None = None
    tokeninfo: Facts | None = None
    #: Distinguishes contexts with different facts in the per-request memo (e.g. a serial).
    facts_key: str = ""
    _loaded: dict[str, Mapping[str, str] | None] = field(default_factory=dict, repr=False)

    def key(self) -> tuple[Any, ...]:
        return (
            self.realm, self.resolver, self.user, self.adminrealm, self.adminuser,
            self.client, self.facts_key, self.now,
        )  # fmt: skip

    def facts(self, section: str) -> Mapping[str, str] | None:
        if section not in self._loaded:
            loader = self.userinfo if section == "userinfo" else self.tokeninfo
            self._loaded[section] = loader() if loader is not None else None
        return self._loaded[section]


def _lower(items: list[str]) -> frozenset[str]:
    return frozenset(item.lower() for item in items)


@dataclass(frozen=True)
class CompiledPolicy:
    name: str
    scope: str
    priority: int
    action: Mapping[str, ActionValue]
    realms: frozenset[str]
    resolvers: frozenset[str]
    adminrealms: frozenset[str]
    users: UserSpec
    adminusers: UserSpec
    clients: ClientSpec
    windows: tuple[TimeWindow, ...]
    conditions: tuple[Condition, ...]

    @classmethod
    def from_row(cls, row: Policy) -> CompiledPolicy:
        return cls(
            name=row.name,
            scope=row.scope,
            priority=row.priority,
            action=dict(row.action or {}),
            realms=_lower(row.realm or []),
            resolvers=_lower(row.resolver or []),
            adminrealms=_lower(row.adminrealm or []),
            users=user_spec("user", row.user or []),
            adminusers=user_spec("adminuser", row.adminuser or []),
            clients=client_spec(row.client or []),
            windows=time_windows(row.time or ""),
            conditions=conditions(row.conditions or []),
        )

    def matches(self, ctx: MatchContext, now: datetime) -> bool:
        if not _in(self.realms, ctx.realm) or not _in(self.resolvers, ctx.resolver):
            return False
        if not _in(self.adminrealms, ctx.adminrealm):
            return False
        if ctx.user is not None and not self.users.matches(ctx.user):
            return False
        if ctx.adminuser is not None and not self.adminusers.matches(ctx.adminuser):
            return False
        if ctx.client and not self.clients.matches(ctx.client):
            return False
        if self.windows and not any(w.covers(now) for w in self.windows):
            return False
        return all(self._holds(c, ctx) for c in self.conditions if c.active)

    def _holds(self, condition: Condition, ctx: MatchContext) -> bool:
        facts = ctx.facts(condition.section)
        left = facts.get(condition.key) if facts is not None else None
        if left is None:
            if condition.handle_missing_data == "condition_is_true":
                return True
            if condition.handle_missing_data == "condition_is_false":
                return False
            raise PolicyError(
                f"Unknown {condition.section} key {condition.key!r} in the conditions of "
                f"policy {self.name!r}."
            )
        return compare(left, condition.comparator, condition.value)


def _in(allowed: frozenset[str], value: str | None) -> bool:
    return not allowed or value is None or value.lower() in allowed


@dataclass(frozen=True)
class PolicyView:
    """The policies of one scope that match one request context."""

    scope: str
    matched: tuple[CompiledPolicy, ...]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.matched]

    def granting(self, action: str) -> list[str]:
        """Names of the matching policies that set ``action``."""
        return [p.name for p in self.matched if action in p.action]

    def has(self, action: str) -> bool:
        """A boolean action (or right): on when any matching policy sets it."""
        return any(action in p.action for p in self.matched)

    def value(self, action: str) -> ActionValue | None:
        """A unique value action: the value at the best priority; conflicts are a 303."""
        setting = [p for p in self.matched if action in p.action]
        if not setting:
            return None
        best = min(p.priority for p in setting)
        values = {repr(p.action[action]): p.action[action] for p in setting if p.priority == best}
        if len(values) > 1:
            raise PolicyError(f"There are conflicting {action} definitions!")
        return next(iter(values.values()))

    def values(self, action: str) -> list[str]:
        """A non-unique action: the space-separated values of all matching policies."""
        out: list[str] = []
        for p in self.matched:
            if action in p.action:
                out.extend(v for v in str(p.action[action]).split() if v not in out)
        return out


def select(
    policies: tuple[CompiledPolicy, ...], scope: str, ctx: MatchContext, now: datetime
) -> PolicyView:
    matched = tuple(p for p in policies if p.matches(ctx, now))
    return PolicyView(scope, matched)
