"""privacyIDEA's policy action names and scopes, and the event token_getchallenges

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00

A data migration (issue 13 item 9), no schema change:

* policies: Factorflow's earlier action names become privacyIDEA 3.14's
  (``lastauth`` → ``last_auth``, ``lostTokenPWLen`` → ``losttoken_PW_length``, ...);
  the PIN rules and forced HOTP/TOTP values of an ``enrollment`` policy move to two
  policies ``<name>.admin`` and ``<name>.user`` with the same conditions (the
  ``enrollment`` policy itself becomes the admin one when nothing else stays in it);
  a boolean ``passthru`` / ``set_custom_user_attributes`` /
  ``delete_custom_user_attributes`` gets privacyIDEA's value for "everything";
* event definitions bound to ``token_challenges`` are bound to ``token_getchallenges``.

The translation is :func:`factorflow.policies.legacy.translate`, the one the API
applies to earlier names on save. A downgrade renames back what stayed in its scope
and the event; PIN rules moved to admin / user policies stay there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from factorflow.events.legacy import RENAMED_EVENTS
from factorflow.policies.legacy import RENAMED, sibling_name, translate

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_LISTS = ("realm", "resolver", "user", "adminrealm", "adminuser", "client", "conditions")
policy = sa.table(
    "policy",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("scope", sa.String),
    sa.column("action", sa.JSON),
    sa.column("active", sa.Boolean),
    sa.column("priority", sa.Integer),
    *(sa.column(name, sa.JSON) for name in _LISTS),
    sa.column("time", sa.Text),
    sa.column("description", sa.Text),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)
event_definition = sa.table(
    "event_definition", sa.column("id", sa.Integer), sa.column("events", sa.JSON)
)
#: Earlier boolean forms → privacyIDEA's value for "all".
_BARE = {
    ("authentication", "passthru"): "userstore",
    ("admin", "set_custom_user_attributes"): ":*: *",
    ("admin", "delete_custom_user_attributes"): "*",
}


def _now() -> datetime:
    # Naive UTC, as the UtcDateTime columns store it.
    return datetime.now(UTC).replace(tzinfo=None)


def _sibling(row: Any, scope: str, name: str, actions: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {key: row[key] for key in _LISTS}
    if scope != "admin":
        values.update(adminrealm=[], adminuser=[])
    values.update(
        name=name, scope=scope, action=actions, active=row["active"],
        priority=row["priority"], time=row["time"] or "",
        description=row["description"] or "", created_at=_now(), updated_at=_now(),
    )  # fmt: skip
    return values


def _upgrade_policies(bind: sa.Connection) -> None:
    rows = bind.execute(sa.select(policy).order_by(policy.c.id)).mappings().all()
    taken = {row["name"] for row in rows}
    for row in rows:
        scope = row["scope"]
        actions = {
            key: _BARE.get((scope, key), value) if value is True else value
            for key, value in dict(row["action"] or {}).items()
        }
        translated = translate(scope, actions)
        kept, moved = translated.actions, translated.moved
        if not kept and moved:
            scope = next(iter(moved))
            kept = moved.pop(scope)
        if scope == row["scope"] and kept == row["action"] and not moved:
            continue
        bind.execute(
            policy.update()
            .where(policy.c.id == row["id"])
            .values(scope=scope, action=kept, updated_at=_now())
        )
        for other, other_actions in moved.items():
            name = sibling_name(row["name"], other, taken)
            taken.add(name)
            bind.execute(policy.insert().values(**_sibling(row, other, name, other_actions)))


def _rename_events(bind: sa.Connection, renamed: dict[str, str]) -> None:
    for row in bind.execute(sa.select(event_definition)).mappings().all():
        events = list(row["events"] or [])
        new = list(dict.fromkeys(renamed.get(event, event) for event in events))
        if new != events:
            bind.execute(
                event_definition.update()
                .where(event_definition.c.id == row["id"])
                .values(events=new)
            )


def upgrade() -> None:
    bind = op.get_bind()
    _upgrade_policies(bind)
    _rename_events(bind, dict(RENAMED_EVENTS))


def downgrade() -> None:
    bind = op.get_bind()
    back = {
        (scopes[0], new): old
        for (scope, old), (scopes, new) in RENAMED.items()
        if scopes == (scope,)
    }
    rows = bind.execute(sa.select(policy.c.id, policy.c.scope, policy.c.action)).mappings()
    for row in rows.all():
        actions = dict(row["action"] or {})
        renamed = {back.get((row["scope"], key), key): value for key, value in actions.items()}
        if renamed != actions:
            bind.execute(policy.update().where(policy.c.id == row["id"]).values(action=renamed))
    _rename_events(bind, {new: old for old, new in RENAMED_EVENTS.items()})
