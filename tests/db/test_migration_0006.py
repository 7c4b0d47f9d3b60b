"""Migration 0006: stored policies and event definitions written with Factorflow's
earlier names read as privacyIDEA 3.14's after the upgrade (issue 13 item 9)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from factorflow.db.base import make_engine
from factorflow.db.schema import upgrade
from tests.conftest import (
    BACKEND,
    MARIADB_ADMIN_URL,
    PG_ADMIN_URL,
    create_database,
    drop_database,
)

POLICY = sa.table(
    "policy",
    *(sa.column(name) for name in ("id", "name", "scope", "active", "priority", "time")),
    *(sa.column(name) for name in ("description", "created_at", "updated_at")),
    *(sa.column(name, sa.JSON) for name in ("action", "realm", "resolver", "user")),
    *(sa.column(name, sa.JSON) for name in ("adminrealm", "adminuser", "client", "conditions")),
)
DEFINITION = sa.table(
    "event_definition",
    *(sa.column(name) for name in ("id", "uid", "name", "handlermodule", "action", "position")),
    *(sa.column(name) for name in ("ordering", "active", "abort_on_error", "unknown_is_match")),
    *(sa.column(name) for name in ("condition_expression", "created_at", "updated_at")),
    *(sa.column(name, sa.JSON) for name in ("events", "options", "conditions")),
)


@pytest.fixture
def engine_at_0002(tmp_path: Path) -> Iterator[Engine]:
    """A new database migrated to revision 0002, the one before issue 13."""
    name = f"ff_mig_{uuid.uuid4().hex[:10]}"
    admin_url = {"postgresql": PG_ADMIN_URL, "mariadb": MARIADB_ADMIN_URL}.get(BACKEND, "")
    url = create_database(admin_url, name) if admin_url else f"sqlite:///{tmp_path / 'm.sqlite'}"
    engine = make_engine(url)
    upgrade(engine, "0002")
    try:
        yield engine
    finally:
        engine.dispose()
        if admin_url:
            drop_database(admin_url, name)


def _policy(name: str, scope: str, action: dict[str, Any], **fields: Any) -> dict[str, Any]:
    now = datetime.now(UTC).replace(tzinfo=None)
    row: dict[str, Any] = {
        "name": name, "scope": scope, "action": action, "active": True, "priority": 1,
        "time": "", "description": "", "created_at": now, "updated_at": now, "realm": [],
        "resolver": [], "user": [], "adminrealm": [], "adminuser": [], "client": [],
        "conditions": [],
    }  # fmt: skip
    row.update(fields)
    return row


def _definition(name: str, events: list[str]) -> dict[str, Any]:
    now = datetime.now(UTC).replace(tzinfo=None)
    return {
        "uid": str(uuid.uuid4()), "name": name, "events": events, "handlermodule": "Logging",
        "action": "logging", "options": {}, "conditions": {}, "position": "post",
        "ordering": 0, "active": True, "abort_on_error": False, "unknown_is_match": True,
        "condition_expression": "", "created_at": now, "updated_at": now,
    }  # fmt: skip


def test_stored_earlier_names_become_privacyideas(engine_at_0002: Engine) -> None:
    with engine_at_0002.begin() as conn:
        conn.execute(sa.insert(POLICY), [
            _policy("authz", "authorization", {"lastauth": "180d", "tokentype": "hotp"}),
            _policy("enrol", "enrollment",
                    {"lostTokenValid": 5, "otp_pin_minlength": 6, "max_token_per_user": 2},
                    realm=["staff"], priority=3, client=["10.0.0.0/8"]),
            _policy("pins", "enrollment", {"otp_pin_random": 8, "hotp_hashlib": "sha256"}),
            _policy("enrol.user", "admin", {"enable": True}),  # a name the split must avoid
            _policy("auth", "authentication", {"passthru": True}),
            _policy("attrs", "admin", {"set_custom_user_attributes": True, "enable": True}),
        ])  # fmt: skip
        conn.execute(sa.insert(DEFINITION), [
            _definition("challenges", ["token_challenges", "token_list"]),
            _definition("both", ["token_challenges", "token_getchallenges"]),
        ])  # fmt: skip
    upgrade(engine_at_0002)
    with engine_at_0002.connect() as conn:
        rows = conn.execute(sa.select(POLICY)).mappings().all()
        events = dict(conn.execute(sa.select(DEFINITION.c.name, DEFINITION.c.events)).all())
    policies = {row["name"]: row for row in rows}
    assert policies["authz"]["action"] == {"last_auth": "180d", "tokentype": "hotp"}
    assert policies["enrol"]["scope"] == "enrollment"
    assert policies["enrol"]["action"] == {"losttoken_valid": 5, "max_token_per_user": 2}
    for name, scope in (("enrol.admin", "admin"), ("enrol.user2", "user")):
        sibling = policies[name]
        assert sibling["scope"] == scope and sibling["action"] == {"otp_pin_minlength": 6}
        assert (sibling["realm"], sibling["priority"], sibling["client"]) == (
            ["staff"], 3, ["10.0.0.0/8"]
        )  # fmt: skip
    assert policies["enrol.user"]["action"] == {"enable": True}  # untouched
    assert policies["pins"]["scope"] == "admin"
    moved = {"otp_pin_set_random": 8, "hotp_hashlib": "sha256"}
    assert policies["pins"]["action"] == moved and policies["pins.user"]["action"] == moved
    assert policies["auth"]["action"] == {"passthru": "userstore"}
    assert policies["attrs"]["action"] == {"set_custom_user_attributes": ":*: *", "enable": True}
    assert events == {"challenges": ["token_getchallenges", "token_list"],
                      "both": ["token_getchallenges"]}  # fmt: skip
