"""A realm-limited admin's backtest replays only its realms' requests: its answer
counts and samples audit entries, which GET /audit/ would not show it either."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.events.test_backtest import CHECK, audit_row, value
from tests.policies.conftest import SetPolicy

ANY_REJECT = {
    "event": "validate_check",
    "handlermodule": "Logging",
    "action": "logging",
    "position": "post",
    "conditions": {"result_value": "False"},
}


def backtest(client: TestClient, headers: dict[str, str]) -> Any:
    return value(client.post("/event/backtest", json={"definition": ANY_REJECT, "days": 2},
                             headers=headers))  # fmt: skip


def test_a_realm_limited_admin_replays_its_realms_only(
    client: TestClient,
    admin_headers: dict[str, str],
    helpdesk_headers: dict[str, str],
    services: Services,
    set_policy: SetPolicy,
) -> None:
    date = datetime.now(UTC) - timedelta(minutes=5)
    rows = [
        audit_row(date=date, startdate=date, action=CHECK, authentication="REJECT",
                  user=user, realm=realm, serial=f"HOTP-{user}")
        for user, realm, count in (("alice", "realm1", 30), ("dave", "Realm2", 20))
        for _ in range(count)
    ]  # fmt: skip
    services.audit.writer.append(rows)
    set_policy("superuser", scope="admin", adminuser="admin",
               action="eventhandling_read, eventhandling_write, policywrite, policyread")  # fmt: skip
    set_policy("events-r2", scope="admin", adminuser="helpdesk", realm="realm2",
               action="eventhandling_read")  # fmt: skip

    everything = backtest(client, admin_headers)
    assert (everything["evaluated"], everything["fired"]) == (50, 50)
    assert {s["user"] for s in everything["samples"]} == {"alice", "dave"}

    limited = backtest(client, helpdesk_headers)
    assert (limited["evaluated"], limited["fired"]) == (20, 20)
    assert [(s["user"], s["realm"]) for s in limited["samples"]] == [("dave", "Realm2")]
