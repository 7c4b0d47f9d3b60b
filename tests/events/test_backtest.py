"""POST /event/backtest: a definition replayed on the audited requests of the last N days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient

from factorflow.api.routes.event import definition_input
from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.events.backtest import audit_actions, backtest, window_start
from factorflow.events.models import EventDefinition
from tests.events.conftest import DefinitionMaker

CHECK = "POST /validate/check"

#: (rows, days back, action, authentication, serial, client): what the audit holds.
GROUPS = (
    (6000, 0, CHECK, "REJECT", "HOTP1", "10.0.0.5"),  # fires
    (4000, 1, CHECK, "REJECT", "", "10.0.0.5"),  # no token named: serial unknown
    (3000, 2, CHECK, "ACCEPT", "HOTP1", "10.0.0.5"),  # result_value not matched
    (2000, 2, CHECK, "REJECT", "HOTP1", "192.168.1.9"),  # client_ip not matched
    (1000, 3, CHECK, "REJECT", "HOTP1", "10.1.2.3"),  # fires
    (2000, 0, "GET /token/", "", "", "10.0.0.5"),  # another event: filtered in SQL
    (2000, 10, CHECK, "REJECT", "HOTP1", "10.0.0.5"),  # would fire, outside the window
)

GUESSED = {
    "event": "validate_check",
    "handlermodule": "Logging",
    "action": "logging",
    "position": "post",
    "unknown_is_match": False,
    "conditions": {"result_value": "False", "client_ip": "10.0.0.0/8", "serial": "^HOTP"},
}


def value(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]["value"]


def audit_row(**values: Any) -> dict[str, Any]:
    """A request's audit row as the writer takes it (no id, no signature)."""
    text = ("action", "authentication", "serial", "token_type", "user", "realm", "resolver",
            "administrator", "action_detail", "info", "privacyidea_server", "client",
            "user_agent", "user_agent_version", "policies", "request_id", "trace")  # fmt: skip
    return {**dict.fromkeys(text, ""), "duration": 0.0, "success": True, **values}


def fill_audit(services: Services) -> None:
    """The groups' rows, interleaved so that every batch mixes them, appended to the
    audit chain in bulk (the writer's own path, so later requests' entries follow)."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows: list[list[dict[str, Any]]] = []
    for count, back, action, authentication, serial, client in GROUPS:
        date = midnight - timedelta(days=back) + timedelta(minutes=1)
        row = audit_row(date=date, startdate=date, action=action, authentication=authentication,
                        serial=serial, user="alice", realm="realm1", client=client)  # fmt: skip
        rows.append([row] * count)
    mixed = [row for batch in zip(*(r[:1000] for r in rows), strict=True) for row in batch]
    every = mixed + [row for group in rows for row in group[1000:]]
    for start in range(0, len(every), 5000):
        services.audit.writer.append(every[start : start + 5000])


def test_counts_on_a_hand_computed_audit(
    client: TestClient, admin_headers: dict[str, str], services: Services
) -> None:
    fill_audit(services)
    answer = value(client.post("/event/backtest", json={"definition": GUESSED, "days": 7},
                               headers=admin_headers))  # fmt: skip
    assert (answer["evaluated"], answer["fired"]) == (16000, 7000)
    today = datetime.now(UTC).date()
    days = {(today - timedelta(days=n)).isoformat(): n for n in range(7)}
    assert [d["day"] for d in answer["per_day"]] == sorted(days)
    per_day = {days[d["day"]]: (d["evaluated"], d["fired"]) for d in answer["per_day"]}
    assert per_day == {0: (6000, 6000), 1: (4000, 0), 2: (5000, 0), 3: (1000, 1000),
                       4: (0, 0), 5: (0, 0), 6: (0, 0)}  # fmt: skip
    assert answer["per_action"] == [
        {"action": CHECK, "event": "validate_check", "evaluated": 16000, "fired": 7000}
    ]
    assert answer["conditions"] == [
        {"condition": "result_value", "value": "False",
         "matched": 13000, "not_matched": 3000, "unknown": 0},
        {"condition": "client_ip", "value": "10.0.0.0/8",
         "matched": 14000, "not_matched": 2000, "unknown": 0},
        {"condition": "serial", "value": "^HOTP",
         "matched": 12000, "not_matched": 0, "unknown": 4000},
    ]  # fmt: skip
    assert answer["action"] == {"module": "Logging", "action": "logging",
                                "options": {}, "would_run": 7000}  # fmt: skip
    # One sample per distinct request that fires (the newest of each), newest first.
    first, second = answer["samples"]
    assert first["id"] > second["id"]
    assert [(s["authentication"], s["serial"], s["date"][:10]) for s in (first, second)] == [
        ("REJECT", "HOTP1", today.isoformat()),
        ("REJECT", "HOTP1", (today - timedelta(days=3)).isoformat()),
    ]
    # Short id ranges split the groups: the same counts, the same samples.
    with services.sessions() as session:
        definition = services.events.transient(session, definition_input(GUESSED))
        split = backtest(services.event_ports, session, definition, days=7, span=3000)
    assert {k: v for k, v in split.items() if k not in ("since", "until")} == {
        k: v for k, v in answer.items() if k not in ("since", "until")
    }
    # A window of one day sees today's rows only.
    one = value(client.post("/event/backtest", json={"definition": GUESSED, "days": 1},
                            headers=admin_headers))  # fmt: skip
    assert (one["evaluated"], one["fired"], len(one["per_day"])) == (6000, 6000, 1)


def test_a_stored_disabled_definition_and_bad_input(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker, services: Services
) -> None:
    definition_id = define(name="disabled", active="0", **{**GUESSED, "unknown_is_match": "0"})
    fill_audit(services)
    answer = value(client.post("/event/backtest", data={"eventid": definition_id, "days": "3"},
                               headers=admin_headers))  # fmt: skip
    assert (answer["id"], answer["name"], answer["evaluated"], answer["fired"]) == (
        definition_id, "disabled", 15000, 6000,
    )  # fmt: skip
    with services.sessions() as session:
        before = session.scalar(select(func.count()).select_from(AuditEntry))
    for bad in ({"eventid": definition_id, "days": "0"}, {"eventid": definition_id, "days": "367"},
                {"eventid": definition_id, "days": "x"}, {"days": "3"},
                {"definition": "[1]"}, {"definition": '{"event": "validate_check"}'},
                {"definition": {**GUESSED, "conditions": {"nope": "1"}}},
                {"definition": {**GUESSED, "event": "scheduled", "schedule": "every 1h"}}):  # fmt: skip
        answer = client.post("/event/backtest", json=bad, headers=admin_headers)
        assert answer.status_code == 400, (bad, answer.text)
        assert answer.json()["result"]["status"] is False
    assert client.post("/event/backtest", json={"eventid": 999999},
                       headers=admin_headers).status_code == 404  # fmt: skip
    with services.sessions() as session:
        # Only the refused requests' own entries were written; the definition is as it was.
        after = session.scalar(select(func.count()).select_from(AuditEntry))
        row = session.get(EventDefinition, definition_id)
        assert row is not None and row.active is False
    assert after == (before or 0) + 9
    assert client.post("/event/backtest", json={"eventid": definition_id}).status_code == 401


def test_the_backtest_agrees_with_the_definition_enabled(
    client: TestClient, admin_headers: dict[str, str], define: DefinitionMaker,
    services: Services, flatfile_realm: str,
) -> None:  # fmt: skip
    token = {"type": "spass", "pin": "right1", "user": "alice", "realm": "realm1"}
    assert value(client.post("/token/init", data=token, headers=admin_headers))
    traffic = [("alice", "right1"), ("alice", "wrong"), ("alice", "wrong"), ("bob", "wrong"),
               ("alice", "right1"), ("alice", "wrong"), ("nobody", "x")]  # fmt: skip

    def run_traffic() -> None:
        for login, password in traffic:
            client.post("/validate/check", data={"user": login, "realm": "realm1",
                                                 "pass": password})  # fmt: skip

    definition_id = define(
        name="reject in realm1", event="validate_check", handlermodule="Logging",
        action="logging", active="0", unknown_is_match="0",
        conditions={"result_value": "False", "realm": "realm1"},
    )  # fmt: skip
    run_traffic()
    answer = value(client.post("/event/backtest", data={"eventid": definition_id, "days": "1"},
                               headers=admin_headers))  # fmt: skip
    assert answer["evaluated"] == len(traffic)
    assert value(client.post(f"/event/enable/{definition_id}", headers=admin_headers))
    run_traffic()
    with services.sessions() as session:
        fired = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "POST-EVENT validate_check>>Logging:logging")
        )
    assert fired == answer["fired"] and fired >= 3, answer


def test_window_and_actions() -> None:
    now = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    assert window_start(now, 1) == datetime(2026, 3, 10, tzinfo=UTC)
    assert window_start(now, 10) == datetime(2026, 3, 1, tzinfo=UTC)
    rules = {CHECK: "validate_check", "GET /validate/check": "validate_check",
             "GET /token/": "token_list"}  # fmt: skip
    assert audit_actions(rules, ["validate_check"]) == ["GET /validate/check", CHECK]


def test_entries_that_differ_only_in_case_are_replayed_apart(
    client: TestClient, admin_headers: dict[str, str], services: Services
) -> None:
    """MariaDB's collation would group them; the serial condition tells them apart."""
    now = datetime.now(UTC)
    rows = [audit_row(date=now, startdate=now, action=CHECK, authentication="REJECT",
                      serial=serial, client="10.0.0.5") for serial in ("HOTP9", "hotp9", "HOTP9 ")]  # fmt: skip
    services.audit.writer.append(rows)
    answer = value(client.post("/event/backtest", json={"definition": GUESSED, "days": 1},
                               headers=admin_headers))  # fmt: skip
    assert (answer["evaluated"], answer["fired"]) == (3, 2)
    assert answer["conditions"][2] == {"condition": "serial", "value": "^HOTP", "matched": 2,
                                       "not_matched": 1, "unknown": 0}  # fmt: skip
    exactly = {**GUESSED, "conditions": {"serial": "^HOTP9$"}}
    exact = value(client.post("/event/backtest", json={"definition": exactly, "days": 1},
                              headers=admin_headers))  # fmt: skip
    assert exact["fired"] == 2  # serials are compared stripped


def test_the_benchmarks_audit_is_replayed(client: TestClient, services: Services) -> None:
    """``python -m bench.backtest`` in small: its rows, its definition, its answer."""
    from bench.backtest import CONDITIONS, DAYS, fill, row

    now = datetime.now(UTC)
    fill(services, 3000, now)
    since = window_start(now, DAYS)
    rows = [r for r in (row(n, now, 3000) for n in range(3000)) if r["date"] >= since]
    checks = [r for r in rows if r["action"] == CHECK]
    fires = [r for r in checks
             if r["authentication"] == "REJECT" and not r["client"].startswith("10.")]  # fmt: skip
    with services.sessions() as session:
        body = {"event": "validate_check", "handlermodule": "Logging", "action": "logging",
                "unknown_is_match": False, "conditions": CONDITIONS}  # fmt: skip
        definition = services.events.transient(session, definition_input(body))
        answer = backtest(services.event_ports, session, definition, days=DAYS, now=now)
    assert (answer["evaluated"], answer["fired"]) == (len(checks), len(fires))
    assert len(checks) > 2000 and len(fires) > 50
