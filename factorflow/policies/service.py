"""Use cases of policies: managing them (``/policy/``) and asking what they decide.

Every field is validated on save against the action catalog and the condition
parsers (:mod:`factorflow.policies.parse`); a bad field is a 400 naming it and
nothing is stored. An update keeps the fields it does not name.

``view(session, scope, ctx)`` answers "which policies of this scope apply to this
request": compiled policies come from the per-process cache (see
:mod:`factorflow.policies.cache`) and each answer is memoised for the rest of the
request in ``session.info`` (one session is one request's unit of work).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.core.params import is_true, split_list
from factorflow.core.untrusted import UntrustedInputError, json_loads
from factorflow.db.base import utcnow
from factorflow.errors import ParameterError, ResourceNotFoundError
from factorflow.policies.actions import SCOPES, ActionValue, Catalog
from factorflow.policies.cache import DIRTY, PolicyCache
from factorflow.policies.matching import MatchContext, PolicyView
from factorflow.policies.matching import select as select_policies
from factorflow.policies.models import Policy
from factorflow.policies.parse import (
    PolicyInputError,
    client_list,
    conditions,
    name_list,
    policy_name,
    time_windows,
    user_list,
)

MEMO = "factorflow.policies.memo"
_LIST_FIELDS = ("realm", "resolver", "adminrealm")
_USER_FIELDS = ("user", "adminuser")


def parse_actions(raw: Any) -> dict[str, Any]:
    """privacyIDEA's ``action``: a dict, or a comma list ``"a, b=c"`` (``a`` is true)."""
    if isinstance(raw, dict):
        return {str(k).strip(): v for k, v in raw.items()}
    if not isinstance(raw, str):
        raise PolicyInputError("action", "expected a comma-separated string or an object")
    out: dict[str, Any] = {}
    for item in split_list(raw):
        key, sep, value = item.partition("=")
        out[key.strip()] = value.strip() if sep else True
    return out


class PolicyService:
    def __init__(self, catalog: Catalog, reload_seconds: float) -> None:
        self.catalog = catalog
        self.cache = PolicyCache(reload_seconds)

    # -- management ------------------------------------------------------------------
    def list(self, session: Session, scope: str | None = None) -> list[dict[str, Any]]:
        stmt = select(Policy).order_by(Policy.priority, Policy.name)
        if scope:
            stmt = stmt.where(Policy.scope == scope)
        return [as_dict(row) for row in session.scalars(stmt)]

    def row(self, session: Session, name: str) -> Policy:
        row = session.scalar(select(Policy).where(Policy.name == name))
        if row is None:
            raise ResourceNotFoundError(f"The policy {name[:64]!r} does not exist.")
        return row

    def get(self, session: Session, name: str) -> dict[str, Any]:
        return as_dict(self.row(session, name))

    def save(self, session: Session, name: str, params: dict[str, Any]) -> int:
        """Create or update the policy ``name``; returns its id."""
        name = policy_name(name)
        row = session.scalar(select(Policy).where(Policy.name == name))
        scope = str(params.get("scope") or (row.scope if row else "")).strip()
        if scope not in SCOPES:
            raise PolicyInputError("scope", f"must be one of {', '.join(SCOPES)}")
        if row is None:
            if params.get("action") in (None, ""):
                raise ParameterError("Missing parameter: 'action'")
            row = Policy(name=name, scope=scope, created_at=utcnow())
        elif row.scope != scope and "action" not in params:
            raise PolicyInputError(
                "action", "changing the scope needs the actions of the new scope"
            )
        row.scope = scope
        self._apply(row, params)
        row.updated_at = utcnow()
        session.add(row)
        session.flush()
        self.cache.changed(session)
        return row.id

    def _apply(self, row: Policy, params: dict[str, Any]) -> None:
        if "action" in params:
            row.action = self.validate_actions(row.scope, params["action"])
        for field in _LIST_FIELDS:
            if field in params:
                setattr(row, field, name_list(field, params[field]))
        for field in _USER_FIELDS:
            if field in params:
                setattr(row, field, user_list(field, params[field]))
        if "client" in params:
            row.client = client_list(params["client"])
        if "time" in params:
            text = str(params["time"] or "").strip()
            time_windows(text)
            row.time = text
        if "conditions" in params:
            row.conditions = [c.as_dict() for c in conditions(_json(params["conditions"]))]
        if "priority" in params:
            row.priority = _priority(params["priority"])
        if "active" in params:
            row.active = is_true(params["active"])
        if "description" in params:
            row.description = str(params["description"] or "")[:2000]

    def validate_actions(self, scope: str, raw: Any) -> dict[str, ActionValue]:
        actions = parse_actions(_json(raw))
        if not actions:
            raise PolicyInputError("action", "at least one action is required")
        out: dict[str, ActionValue] = {}
        for key, value in actions.items():
            definition = self.catalog.action(scope, key)
            if definition is None:
                raise PolicyInputError("action", f"unknown action {key[:60]!r} in scope {scope!r}")
            try:
                out[key] = definition.coerce(value)
            except ValueError as exc:
                raise PolicyInputError("action", str(exc)) from None
        return out

    def delete(self, session: Session, name: str) -> int:
        row = self.row(session, name)
        row_id = row.id
        session.delete(row)
        session.flush()
        self.cache.changed(session)
        return row_id

    def set_active(self, session: Session, name: str, active: bool) -> int:
        row = self.row(session, name)
        row.active = active
        row.updated_at = utcnow()
        session.flush()
        self.cache.changed(session)
        return row.id

    # -- decisions -------------------------------------------------------------------
    def view(
        self, session: Session, scope: str, ctx: MatchContext, now: datetime | None = None
    ) -> PolicyView:
        """The policies of ``scope`` matching ``ctx`` (memoised for this request)."""
        memo: dict[tuple[Any, ...], PolicyView] = session.info.setdefault(MEMO, {})
        key = (scope, ctx.key(), now)
        if key in memo and not session.info.get(DIRTY):
            return memo[key]
        moment = now or ctx.now or datetime.now().astimezone()
        view = select_policies(self.cache.snapshot(session).scope(scope), scope, ctx, moment)
        memo[key] = view
        return view

    def defined(self, session: Session, scope: str) -> bool:
        """Whether any active policy of ``scope`` exists."""
        return bool(self.cache.snapshot(session).scope(scope))


def _json(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json_loads(value, "value")
        except UntrustedInputError:
            return value
    return value


def _priority(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise PolicyInputError("priority", "not an integer") from None
    if not 0 <= number < 2**31:
        raise PolicyInputError("priority", "out of range")
    return number


def as_dict(row: Policy) -> dict[str, Any]:
    """privacyIDEA's policy object (conditions as lists, as privacyIDEA returns them)."""
    keys = ("section", "key", "comparator", "value", "active", "handle_missing_data")
    return {
        "id": row.id,
        "name": row.name,
        "scope": row.scope,
        "action": dict(row.action or {}),
        "active": row.active,
        "priority": row.priority,
        "realm": list(row.realm or []),
        "resolver": list(row.resolver or []),
        "user": list(row.user or []),
        "adminrealm": list(row.adminrealm or []),
        "adminuser": list(row.adminuser or []),
        "client": list(row.client or []),
        "time": row.time or "",
        "conditions": [[c.get(k) for k in keys] for c in row.conditions or []],
        "check_all_resolvers": False,
        "description": row.description or "",
    }
