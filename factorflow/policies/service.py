"""Use cases of policies: managing them (``/policy/``) and asking what they decide.

Every field is validated on save against the action catalog and the condition
parsers (:mod:`factorflow.policies.parse`); a bad field is a 400 naming it and
nothing is stored. An update keeps the fields it does not name. Factorflow's
earlier action names are translated (:mod:`factorflow.policies.legacy`); an action
privacyIDEA keeps in another scope is written to a sibling policy with the same
conditions, and :class:`Saved` carries a warning for each translation.

``view(session, scope, ctx)`` answers "which policies of this scope apply to this
request": compiled policies come from the per-process cache (see
:mod:`factorflow.policies.cache`) and each answer is memoised for the rest of the
request in ``session.info`` (one session is one request's unit of work).
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from factorflow.core.params import is_true, split_list
from factorflow.core.untrusted import UntrustedInputError, json_loads
from factorflow.db.base import utcnow
from factorflow.errors import FactorflowError, ParameterError, ResourceNotFoundError
from factorflow.policies.actions import SCOPES, ActionValue, Catalog
from factorflow.policies.cache import DIRTY, PolicyCache
from factorflow.policies.legacy import sibling_names, translate
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
from factorflow.policies.transfer import FileEntry

log = logging.getLogger(__name__)

MEMO = "factorflow.policies.memo"
_LIST_FIELDS = ("realm", "resolver", "adminrealm")
_USER_FIELDS = ("user", "adminuser")
#: What a sibling policy copies from the policy it was split from.
_SHARED = ("realm", "resolver", "user", "client", "time", "conditions", "priority", "active")
_ADMIN_ONLY = ("adminrealm", "adminuser")
#: Names the API routes claim (``GET /policy/check``).
RESERVED_NAMES = frozenset({"check"})


@dataclass
class Saved:
    """The outcome of a save: the policy's id and the warnings to answer."""

    id: int
    warnings: list[str] = field(default_factory=list)


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

    def save(self, session: Session, name: str, params: dict[str, Any]) -> Saved:
        """Create or update the policy ``name``."""
        name = policy_name(name)
        if name.lower() in RESERVED_NAMES:
            raise PolicyInputError("name", f"{name!r} is reserved")
        row = session.scalar(select(Policy).where(Policy.name == name))
        scope = str(params.get("scope") or (row.scope if row else "")).strip()
        if scope not in SCOPES:
            raise PolicyInputError("scope", f"must be one of {', '.join(SCOPES)}")
        warnings: builtins.list[str] = []
        moved: dict[str, dict[str, Any]] = {}
        if params.get("action") not in (None, ""):
            given = parse_actions(_json(params["action"]))
            if not given:
                raise PolicyInputError("action", "at least one action is required")
            translated = translate(scope, given)
            warnings, moved = translated.warnings, translated.moved
            if translated.actions:
                moved[scope] = translated.actions
            scope = _main_scope(row, scope, moved)
            params = {k: v for k, v in params.items() if k != "action"}
            if scope in moved:
                params.update(scope=scope, action=moved.pop(scope))
            elif row is not None:
                # An update whose actions all belong elsewhere leaves this policy's own.
                params["scope"] = scope = row.scope
        policy_id, bare = self._write(session, row, name, scope, params)
        warnings += bare
        written = self.row(session, name)
        for other, actions in sorted(moved.items()):
            warnings += self._write_sibling(session, written, other, actions)
        for warning in warnings:
            log.warning("policy %r: %s", name, warning)
        return Saved(policy_id, warnings)

    def _write(
        self, session: Session, row: Policy | None, name: str, scope: str, params: dict[str, Any]
    ) -> tuple[int, builtins.list[str]]:
        if row is None:
            if params.get("action") in (None, ""):
                raise ParameterError("Missing parameter: 'action'")
            row = Policy(name=name, scope=scope, created_at=utcnow())
        elif row.scope != scope and "action" not in params:
            raise PolicyInputError(
                "action", "changing the scope needs the actions of the new scope"
            )
        row.scope = scope
        warnings = self._apply(row, params)
        row.updated_at = utcnow()
        session.add(row)
        session.flush()
        self.cache.changed(session)
        return row.id, warnings

    def _write_sibling(
        self, session: Session, source: Policy, scope: str, actions: dict[str, Any]
    ) -> builtins.list[str]:
        """Write ``actions`` into the ``scope`` sibling of ``source``: the first of
        :func:`sibling_names` that is free (created) or a policy of that scope (updated);
        it takes the conditions of ``source``."""
        for name in sibling_names(source.name, scope):
            sibling = session.scalar(select(Policy).where(Policy.name == name))
            if sibling is None or sibling.scope == scope:
                break
        fields: dict[str, Any] = {key: getattr(source, key) for key in _SHARED}
        if scope == "admin":
            fields.update({key: getattr(source, key) for key in _ADMIN_ONLY})
        merged = {**(sibling.action if sibling is not None else {}), **actions}
        fields.update(scope=scope, action=merged, description=source.description)
        _, warnings = self._write(session, sibling, name, scope, fields)
        return [*warnings, f"Its {scope} actions are kept in the policy {name!r}."]

    def _apply(self, row: Policy, params: dict[str, Any]) -> builtins.list[str]:
        warnings: builtins.list[str] = []
        if "action" in params:
            row.action, warnings = self.validate_actions(row.scope, params["action"])
        for field_name in _LIST_FIELDS:
            if field_name in params:
                setattr(row, field_name, name_list(field_name, params[field_name]))
        for field_name in _USER_FIELDS:
            if field_name in params:
                setattr(row, field_name, user_list(field_name, params[field_name]))
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
        return warnings

    def validate_actions(
        self, scope: str, raw: Any
    ) -> tuple[dict[str, ActionValue], builtins.list[str]]:
        """The stored form of ``raw`` actions of ``scope``, and warnings for actions
        given without a value that privacyIDEA now takes one for."""
        actions = parse_actions(_json(raw))
        if not actions:
            raise PolicyInputError("action", "at least one action is required")
        out: dict[str, ActionValue] = {}
        warnings: builtins.list[str] = []
        for key, given in actions.items():
            definition = self.catalog.action(scope, key)
            if definition is None:
                raise PolicyInputError("action", f"unknown action {key[:60]!r} in scope {scope!r}")
            value = given
            if definition.bare is not None and (given is True or given in ("", None)):
                value = definition.bare
                warnings.append(
                    f"The action {key!r} takes a value (privacyIDEA); without one it is "
                    f"read as {key}={definition.bare}."
                )
            try:
                out[key] = definition.coerce(value)
            except ValueError as exc:
                raise PolicyInputError("action", str(exc)) from None
        return out, warnings

    def import_file(self, session: Session, entries: builtins.list[FileEntry]) -> Saved:
        """Save the policies of a policy file, all or nothing; ``Saved.id`` is their
        number. A policy of a scope Factorflow does not have (privacyIDEA's ``webui``,
        ``container``, ...) is skipped with a warning; any other invalid policy refuses
        the file with a 400 naming each."""
        if not entries:
            raise ParameterError("Error loading policy. File empty!")
        imported = Saved(0)
        problems: builtins.list[str] = []
        for entry in entries:
            scope = str(entry.params.get("scope") or "").strip()
            if scope not in SCOPES:
                imported.warnings.append(
                    f"The policy {entry.name[:64]!r} is skipped: Factorflow has no scope "
                    f"{scope[:32]!r}."
                )
                continue
            try:
                with session.begin_nested():
                    saved = self.save(session, entry.name, entry.params)
            except FactorflowError as exc:
                problems.append(f"{entry.name[:64]!r}: {exc.message}")
                continue
            imported.id += 1
            imported.warnings += [f"{entry.name}: {w}" for w in saved.warnings]
        if problems:
            raise ParameterError("The policy file was not imported. " + "; ".join(problems[:10]))
        return imported

    def rename(self, session: Session, name: str, new_name: str) -> int:
        """privacyIDEA's ``PATCH /policy/<name>``: only the name changes."""
        row = session.scalar(select(Policy).where(Policy.name == name))
        if row is None:
            raise PolicyInputError("name", f"the policy {name[:64]!r} does not exist")
        new_name = policy_name(new_name)
        if new_name.lower() in RESERVED_NAMES:
            raise PolicyInputError("name", f"{new_name!r} is reserved")
        if new_name != name and session.scalar(select(Policy.id).where(Policy.name == new_name)):
            raise PolicyInputError("name", f"a policy {new_name!r} already exists")
        row.name = new_name
        row.updated_at = utcnow()
        session.flush()
        self.cache.changed(session)
        return row.id

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
        """Whether any active policy of ``scope`` exists; in the admin and user scopes,
        one that holds a right (a policy of PIN rules alone restricts nobody)."""
        policies = self.cache.snapshot(session).scope(scope)
        rights = self.catalog.rights(scope)
        if not rights:
            return bool(policies)
        return any(not rights.isdisjoint(p.action) for p in policies)


def _main_scope(row: Policy | None, requested: str, buckets: Mapping[str, Any]) -> str:
    """Which scope the policy itself keeps when its actions belong in ``buckets``: its
    current one, else the requested one, else (a new policy of moved actions only) the
    first other one; the other buckets go to sibling policies."""
    if row is not None:
        return row.scope if row.scope in buckets or not buckets else requested
    if requested in buckets or not buckets:
        return requested
    return next(iter(buckets))


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
