"""Scheduled definitions (product §3.2, ADR 0007): bound to a schedule instead of a
request, they sweep tokens or users with the request path's conditions and actions."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services, build_services
from factorflow.cli.main import app as cli_app
from factorflow.core.dates import timestamp
from factorflow.events.handlers.counter import counter_total
from factorflow.events.models import EventDefinition
from factorflow.events.schedule import parse_schedule
from factorflow.events.scheduler import Scheduler
from factorflow.jobs.models import Job
from factorflow.settings import Settings
from factorflow.tokens.info import get_info, set_info
from factorflow.tokens.models import Token
from factorflow.worker import Worker
from tests.events.conftest import add_token
from tests.jobs.conftest import wait_for
from tests.notify.servers import Recorder, SmtpServer

H = dict[str, str]
ALICE = ("realm1", "resolver1", "1000")
BOB = ("realm1", "resolver1", "1001")
CAROL = ("realm1", "resolver1", "1002")

UNLOCK = {
    "name": "unlock after 7 days",
    "schedule": "every 1h",
    "sweep": "tokens",
    "handlermodule": "Token",
    "action": "set failcounter",
    "option.fail counter": "0",
    "conditions": json.dumps(
        {"token_locked": "True", "tokeninfo": "failcounter_exceeded < {now}-7d"}
    ),
    "unknown_is_match": "0",
}
COUNT = {
    "name": "count tokens",
    "schedule": "every 15m",
    "handlermodule": "Counter",
    "action": "increase_counter",
    "option.counter_name": "swept",
}


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]["value"]


def refused(response: Any) -> str:
    assert response.status_code == 400, response.text
    message: str = response.json()["result"]["error"]["message"]
    return message


def save(client: TestClient, headers: H, data: dict[str, str]) -> int:
    return int(ok(client.post("/event", data=data, headers=headers)))


def stored_row(services: Services, definition_id: int) -> EventDefinition:
    with services.sessions() as session:
        row = session.get(EventDefinition, definition_id)
        assert row is not None
        return row


def due_now(services: Services, definition_id: int) -> datetime:
    """The moment the definition's next slot comes (runs are driven with it, not waited for)."""
    slot = stored_row(services, definition_id).next_run_at
    assert slot is not None
    return slot


def tokens(services: Services, *specs: tuple[str, dict[str, Any], dict[str, str]]) -> None:
    """(serial, columns, tokeninfo) rows."""
    with services.sessions.begin() as session:
        for serial, columns, info in specs:
            token = add_token(session, serial, **columns)
            for key, value in info.items():
                set_info(token, key, value)
        session.flush()


def token_row(services: Services, serial: str) -> Token:
    with services.sessions() as session:
        token = session.scalar(select(Token).where(Token.serial == serial))
        assert token is not None
        return token


def audit_rows(services: Services, like: str) -> list[AuditEntry]:
    with services.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action.like(like)).order_by(AuditEntry.id)
        return list(session.scalars(query))


def ago(**delta: float) -> str:
    return timestamp(datetime.now(UTC) - timedelta(**delta))


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(Recorder())
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- the product's examples, end to end -------------------------------------------------


def test_unlock_tokens_locked_more_than_7_days_ago(
    client: TestClient, admin_headers: H, services: Services, flatfile_realm: str
) -> None:
    locked = {"failcount": 10, "maxfail": 10}
    tokens(
        services,
        ("LOCKED-LONG", locked, {"failcounter_exceeded": ago(days=8)}),
        ("LOCKED-RECENT", locked, {"failcounter_exceeded": ago(days=2)}),
        ("LOCKED-UNKNOWN", locked, {}),  # when it was locked is unknown: not unlocked
        ("UNLOCKED", {"failcount": 3, "owner": ALICE}, {"failcounter_exceeded": ago(days=30)}),
    )
    definition_id = save(client, admin_headers, UNLOCK)
    now = due_now(services, definition_id)

    reports = Scheduler(services.event_ports).run_due(now)

    assert [(r.definition_id, r.swept, r.matched, r.failed) for r in reports] == [
        (definition_id, 4, 1, 0)
    ]
    assert token_row(services, "LOCKED-LONG").failcount == 0
    assert get_info(token_row(services, "LOCKED-LONG"), "failcounter_exceeded") == ""
    assert token_row(services, "LOCKED-RECENT").failcount == 10
    assert token_row(services, "LOCKED-UNKNOWN").failcount == 10
    assert token_row(services, "UNLOCKED").failcount == 3
    # One action entry with its condition trace, one summary, linked by request_id.
    (action,) = audit_rows(services, "POST-EVENT scheduled>>Token:set failcounter")
    assert action.serial == "LOCKED-LONG" and action.success and action.administrator == "scheduler"
    assert [t["result"] for t in json.loads(action.trace)] == ["matched", "matched"]
    (summary,) = audit_rows(services, f"SCHEDULED /event/{definition_id}")
    assert summary.info == "unlock after 7 days: matched 1 of 4, failed 0" and summary.success
    assert summary.request_id == action.request_id
    assert all(services.audit.entry_ok(entry) for entry in (action, summary))
    # The slot is used up; the next one is an hour later.
    assert Scheduler(services.event_ports).run_due(now) == []
    row = stored_row(services, definition_id)
    assert row.next_run_at == now + timedelta(hours=1) and row.last_run_at == now


def test_mail_owners_of_tokens_unused_for_180_days(
    client: TestClient,
    admin_headers: H,
    services: Services,
    flatfile_realm: str,
    smtp_server: SmtpServer,
) -> None:
    mail = {"server": "127.0.0.1", "port": str(smtp_server.port), "sender": "mfa@example.org"}
    ok(client.post("/smtpserver/mail1", data=mail, headers=admin_headers))
    tokens(
        services,
        ("ALICE-OLD", {"owner": ALICE}, {"last_auth": ago(days=200)}),
        ("ALICE-OLDER", {"owner": ALICE}, {"last_auth": ago(days=400)}),
        ("BOB-RECENT", {"owner": BOB}, {"last_auth": ago(days=10)}),
        ("BOB-OLD", {"owner": BOB}, {"last_auth": ago(days=181)}),
        ("CAROL-NEVER", {"owner": CAROL}, {}),  # never used: last use unknown, no mail
        ("NOBODY-OLD", {}, {"last_auth": ago(days=300)}),
    )
    definition_id = save(
        client,
        admin_headers,
        {
            "name": "unused tokens",
            "schedule": "0 6 * * 1",
            "sweep": "tokens",
            "handlermodule": "UserNotification",
            "action": "sendmail",
            "option.emailconfig": "mail1",
            "option.To": "tokenowner",
            "option.subject": "Your token {serial} is unused",
            "option.body": "Hello {givenname}, token {serial} was not used for 180 days.",
            "conditions": json.dumps({"token_has_owner": "True", "last_auth": "180d"}),
            "unknown_is_match": "0",
        },
    )
    now = due_now(services, definition_id)
    assert (now.weekday(), now.hour, now.minute) == (0, 6, 0)

    (report,) = Scheduler(services.event_ports).run_due(now)

    assert (report.swept, report.matched, report.failed) == (6, 3, 0)
    with services.sessions() as session:
        jobs = list(session.scalars(select(Job).order_by(Job.id)))
    # One mail per unused token: alice hears about both of hers.
    assert len(jobs) == 3
    assert {job.request_id for job in jobs} == {report.request_id}
    assert Worker(services, scheduler=False).drain() == 3
    received = sorted(
        (tuple(m.rcpt_tos), m.message["Subject"]) for m in smtp_server.recorder.messages
    )
    assert received == [
        (("alice@example.com",), "Your token ALICE-OLD is unused"),
        (("alice@example.com",), "Your token ALICE-OLDER is unused"),
        (("bob@example.com",), "Your token BOB-OLD is unused"),
    ]
    entries = audit_rows(services, "POST-EVENT scheduled>>UserNotification:sendmail")
    assert sorted(e.serial for e in entries) == ["ALICE-OLD", "ALICE-OLDER", "BOB-OLD"]
    assert {e.user for e in entries} == {"alice", "bob"}


def test_users_sweep_sees_every_user_of_the_realm(
    client: TestClient, admin_headers: H, services: Services, flatfile_realm: str
) -> None:
    tokens(services, ("ALICE-1", {"owner": ALICE}, {}), ("BOB-1", {"owner": BOB}, {}))
    definition_id = save(
        client,
        admin_headers,
        {
            "name": "users without tokens",
            "schedule": "every 1d",
            "sweep": "users",
            "handlermodule": "CustomUserAttributes",
            "action": "set_custom_user_attributes",
            "option.attrkey": "needs_token",
            "option.attrvalue": "yes",
            "conditions": json.dumps({"user_token_number": "0"}),
        },
    )
    (report,) = Scheduler(services.event_ports).run_due(due_now(services, definition_id))
    assert (report.swept, report.matched, report.failed) == (3, 1, 0)
    with services.sessions() as session:
        marked = {
            login: services.users.resolve(session, login, "realm1").attribute("needs_token")
            for login in ("alice", "bob", "carol")
        }
    assert marked == {"alice": "", "bob": "", "carol": "yes"}
    (entry,) = audit_rows(services, "POST-EVENT scheduled>>CustomUserAttributes%")
    assert (entry.user, entry.realm, entry.resolver) == ("carol", "realm1", "resolver1")


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"schedule": "every 5x"}, "'schedule'"),
        ({"schedule": "every 30s"}, "'schedule'"),
        ({"schedule": "every 0m"}, "'schedule'"),
        ({"schedule": "61 * * * *"}, "'schedule'"),
        ({"schedule": "0 0 * * * *"}, "'schedule'"),
        ({"schedule": "0 0 30 2 *"}, "'schedule'"),
        ({"sweep": "groups"}, "'sweep'"),
        ({"event": "validate_check"}, "'event'"),
        ({"position": "pre"}, "'position'"),
        ({"schedule": "", "sweep": "tokens", "event": "token_init"}, "'sweep'"),
        ({"schedule": "", "event": "scheduled"}, "'event'"),
    ],
)
def test_bad_schedules_are_refused_and_nothing_is_stored(
    client: TestClient, admin_headers: H, fields: dict[str, str], named: str
) -> None:
    assert named in refused(client.post("/event", data={**COUNT, **fields}, headers=admin_headers))
    assert ok(client.get("/event/", headers=admin_headers)) == []


def test_handlers_that_need_a_request_are_refused(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    refused_modules = {
        name for name, handler in services.events.handlers.items() if not handler.schedulable
    }
    assert {"RequestMangler", "ResponseMangler"} <= refused_modules
    assert "Federation" not in services.events.handlers or "Federation" in refused_modules
    for module, action, options in (
        ("RequestMangler", "set", {"option.parameter": "realm", "option.value": "x"}),
        ("ResponseMangler", "delete", {"option.JSON pointer": "/detail/message"}),
    ):
        data = {**COUNT, "handlermodule": module, "action": action, **options}
        data.pop("option.counter_name")
        message = refused(client.post("/event", data=data, headers=admin_headers))
        assert "'handlermodule'" in message and module in message
    assert ok(client.get("/event/", headers=admin_headers)) == []


# -- claiming slots across nodes ------------------------------------------------------------


def test_concurrent_claimers_run_a_slot_once(
    client: TestClient, admin_headers: H, services: Services, settings: Settings
) -> None:
    tokens(services, ("T1", {}, {}), ("T2", {}, {}))
    definition_id = save(client, admin_headers, COUNT)
    other = build_services(settings, migrate=False)  # a second node on the same database
    nodes = [Scheduler(services.event_ports), Scheduler(other.event_ports)]
    try:
        race_three_slots(services, definition_id, nodes)
    finally:
        other.close()
    with services.sessions() as session:
        assert counter_total(session, "swept") == 3 * 2  # three slots, two tokens each
    assert len(audit_rows(services, f"SCHEDULED /event/{definition_id}")) == 3


def race_three_slots(services: Services, definition_id: int, nodes: list[Scheduler]) -> None:
    for _ in range(3):
        now = due_now(services, definition_id)
        assert sorted(race(nodes, now)) == [0, 1]


def race(nodes: list[Scheduler], now: datetime) -> list[int]:
    """Every node runs the due definitions at once; returns how many each ran."""
    barrier = threading.Barrier(len(nodes))
    results: list[int] = []

    def run(node: Scheduler) -> None:
        barrier.wait()
        results.append(len(node.run_due(now)))

    threads = [threading.Thread(target=run, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_the_claim_is_a_compare_and_swap(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    definition_id = save(client, admin_headers, COUNT)
    slot = due_now(services, definition_id)
    claimers = 4
    barrier = threading.Barrier(claimers)
    won: list[bool] = []

    def claim() -> None:
        scheduler = Scheduler(services.event_ports)
        barrier.wait()
        won.append(scheduler.claim(definition_id, "every 15m", slot, slot))

    threads = [threading.Thread(target=claim) for _ in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [False] * (claimers - 1) + [True]
    assert stored_row(services, definition_id).next_run_at == slot + timedelta(minutes=15)


# -- never on requests; dry run; configuration -----------------------------------------


def test_request_events_never_trigger_a_scheduled_definition(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    definition_id = save(client, admin_headers, COUNT)
    stored = ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]
    assert stored["event"] == ["scheduled"] and stored["position"] == "post"
    assert "scheduled" not in ok(client.get("/event/available", headers=admin_headers))
    r = client.post("/token/init", data={"type": "spass", "pin": "1234"}, headers=admin_headers)
    serial = ok(r) and r.json()["detail"]["serial"]
    client.post("/validate/check", data={"serial": serial, "pass": "1234"})
    client.post("/validate/check", data={"serial": serial, "pass": "wrong"})
    with services.sessions() as session:
        assert counter_total(session, "swept") == 0
        for event in services.events.available_events:
            for position in ("pre", "post"):
                found = services.events.cache.for_event(session, event, position)
                assert definition_id not in {d.id for d in found}


def test_dry_run_evaluates_a_sample_of_the_sweep_without_side_effects(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    tokens(
        services,
        ("A-LOCKED", {"failcount": 10, "maxfail": 10}, {"failcounter_exceeded": ago(days=9)}),
        ("B-FINE", {}, {}),
        ("C-LOCKED", {"failcount": 10, "maxfail": 10}, {"failcounter_exceeded": ago(days=9)}),
    )
    definition_id = save(client, admin_headers, UNLOCK)
    before = stored_row(services, definition_id)

    result = ok(client.post("/event/test", data={"eventid": definition_id}, headers=admin_headers))
    (answer,) = result["definitions"]
    assert (answer["sweep"], answer["evaluated"], answer["would_fire"]) == ("tokens", 3, 2)
    assert [(i["serial"], i["fires"]) for i in answer["items"]] == [
        ("A-LOCKED", True),
        ("B-FINE", False),
        ("C-LOCKED", True),
    ]
    first = answer["items"][0]
    assert [c["result"] for c in first["conditions"]] == ["matched", "matched"]
    assert first["action"]["tokens"] == ["A-LOCKED"]
    one = ok(
        client.post(
            "/event/test",
            data={"eventid": definition_id, "serial": "B-FINE"},
            headers=admin_headers,
        )
    )["definitions"][0]
    assert [i["serial"] for i in one["items"]] == ["B-FINE"]
    assert one["items"][0]["conditions"][0]["result"] == "not_matched"
    limited = ok(
        client.post(
            "/event/test", data={"eventid": definition_id, "limit": "1"}, headers=admin_headers
        )
    )
    assert limited["definitions"][0]["evaluated"] == 1
    assert "'limit'" in refused(
        client.post(
            "/event/test", data={"eventid": definition_id, "limit": "0"}, headers=admin_headers
        )
    )
    # Nothing changed: tokens, jobs, the schedule, no action or run entries.
    assert token_row(services, "A-LOCKED").failcount == 10
    after = stored_row(services, definition_id)
    assert (after.next_run_at, after.last_run_at) == (before.next_run_at, before.last_run_at)
    assert audit_rows(services, "%scheduled>>%") == []
    assert audit_rows(services, "SCHEDULED %") == []


def test_inline_scheduled_definition_dry_run(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    tokens(services, ("X1", {}, {}))
    inline = {k: v for k, v in COUNT.items() if not k.startswith("option.")}
    inline["options"] = {"counter_name": "swept"}  # type: ignore[assignment]
    result = ok(client.post("/event/test", json={"definition": inline}, headers=admin_headers))
    assert result["event"] == "scheduled"
    assert result["definitions"][0]["items"][0]["fires"] is True
    with services.sessions() as session:
        assert counter_total(session, "swept") == 0


def test_get_update_disable_and_history(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    definition_id = save(client, admin_headers, COUNT)
    stored = ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]
    assert (stored["schedule"], stored["sweep"], stored["last_run_at"]) == (
        "every 15m",
        "tokens",
        None,
    )
    slot = datetime.fromisoformat(stored["next_run_at"])
    assert slot.minute % 15 == 0 and slot.second == 0 and slot > datetime.now(UTC)
    save(client, admin_headers, {"id": str(definition_id), "schedule": "30 2 * * *"})
    cron = ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]
    assert (cron["schedule"], cron["name"], cron["sweep"]) == (
        "30 2 * * *",
        "count tokens",
        "tokens",
    )
    assert datetime.fromisoformat(cron["next_run_at"]).strftime("%H:%M:%S") == "02:30:00"
    ok(client.post(f"/event/disable/{definition_id}", headers=admin_headers))
    assert (
        ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]["next_run_at"] is None
    )
    assert Scheduler(services.event_ports).run_due(datetime.now(UTC) + timedelta(days=2)) == []
    ok(client.post(f"/event/enable/{definition_id}", headers=admin_headers))
    assert ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]["next_run_at"]
    # Back to a request-bound definition: the schedule fields disappear.
    save(client, admin_headers, {"id": str(definition_id), "schedule": "", "event": "token_init"})
    plain = ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]
    assert plain["event"] == ["token_init"] and "schedule" not in plain
    history = ok(client.get(f"/event/{definition_id}/history", headers=admin_headers))
    assert [h["definition"].get("schedule") for h in history] == [
        "every 15m",
        "30 2 * * *",
        "30 2 * * *",
        "30 2 * * *",
        None,
    ]
    assert all("next_run_at" not in h["definition"] for h in history)
    ok(client.post(f"/event/{definition_id}/rollback/1", headers=admin_headers))
    restored = ok(client.get(f"/event/{definition_id}", headers=admin_headers))[0]
    assert (restored["schedule"], restored["event"]) == ("every 15m", ["scheduled"])


def test_export_import_round_trip(client: TestClient, admin_headers: H, services: Services) -> None:
    save(client, admin_headers, UNLOCK)
    save(client, admin_headers, {**COUNT, "sweep": "users", "schedule": "*/10 * * * *"})
    text = client.get("/event/export", headers=admin_headers).text
    document = yaml.safe_load(text)
    exported = {d["name"]: (d["schedule"], d["sweep"], d["event"]) for d in document["definitions"]}
    assert exported == {
        "unlock after 7 days": ("every 1h", "tokens", ["scheduled"]),
        "count tokens": ("*/10 * * * *", "users", ["scheduled"]),
    }
    assert all("next_run_at" not in d for d in document["definitions"])
    before = ok(client.get("/event/", headers=admin_headers))
    with services.sessions.begin() as session:
        for row in session.scalars(select(EventDefinition)):
            session.delete(row)
    report = ok(client.post("/event/import", json={"data": text}, headers=admin_headers))
    assert (report["created"], report["unchanged"]) == (2, 0)
    after = ok(client.get("/event/", headers=admin_headers))
    keep = ("uid", "name", "schedule", "sweep", "event", "options", "conditions")
    assert [{k: d[k] for k in keep} for d in after] == [{k: d[k] for k in keep} for d in before]
    assert all(d["next_run_at"] for d in after)
    again = ok(client.post("/event/import", json={"data": text}, headers=admin_headers))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    # GET /event output imports as it is (the scheduler's bookkeeping is ignored).
    assert ok(client.post("/event/import", json={"data": after}, headers=admin_headers))


def test_next_run_for_every_and_cron_forms() -> None:
    at = datetime(2026, 11, 23, 21, 40, 12, tzinfo=UTC)
    expected = {
        "every 15m": datetime(2026, 11, 23, 21, 45, tzinfo=UTC),
        "every 1h": datetime(2026, 11, 23, 22, 0, tzinfo=UTC),
        "every 1d": datetime(2026, 11, 24, 0, 0, tzinfo=UTC),
        "0 3 * * *": datetime(2026, 11, 24, 3, 0, tzinfo=UTC),
        "*/20 * * * 1-5": datetime(2026, 11, 23, 22, 0, tzinfo=UTC),
        "0 9 1 * *": datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    }
    assert {text: parse_schedule(text).next_after(at) for text in expected} == expected
    # A slot is strictly after the moment, so a run at its slot computes the next one.
    slot = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert parse_schedule("every 1h").next_after(slot) == slot + timedelta(hours=1)
    assert parse_schedule("  every   2H ").text == "every 2h"


# -- failures, the worker and the CLI -------------------------------------------------------


def test_failed_actions_are_audited_and_abort_on_error_stops_the_run(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    tokens(services, ("F1", {}, {}), ("F2", {}, {}), ("F3", {}, {}))
    failing = {
        **COUNT,
        "name": "to a missing realm",
        "handlermodule": "Token",
        "action": "set tokenrealm",
        "option.realm": "nowhere",
    }
    failing.pop("option.counter_name")
    definition_id = save(client, admin_headers, failing)
    (report,) = Scheduler(services.event_ports).run_due(due_now(services, definition_id))
    assert (report.swept, report.matched, report.failed, report.stopped) == (3, 3, 3, "")
    (summary,) = audit_rows(services, f"SCHEDULED /event/{definition_id}")
    assert summary.success is False and "failed 3" in summary.info
    save(client, admin_headers, {"id": str(definition_id), "abort_on_error": "1"})
    (report,) = Scheduler(services.event_ports).run_due(due_now(services, definition_id))
    assert (report.swept, report.failed) == (1, 1)
    assert report.stopped == "abort_on_error after the action for F1 failed"


def test_batches_and_the_worker_thread(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    tokens(services, *((f"B{n:02}", {}, {}) for n in range(7)))
    definition_id = save(client, admin_headers, COUNT)
    progress: list[tuple[int, int]] = []
    report = Scheduler(services.event_ports, batch_size=3).run_one(
        definition_id, force=True, progress=lambda done, total: progress.append((done, total))
    )
    assert report is not None and report.slot is None and report.swept == 7
    assert progress == [(3, 7), (6, 7), (7, 7)]
    with services.engine.begin() as conn:
        conn.execute(
            update(EventDefinition)
            .where(EventDefinition.id == definition_id)
            .values(next_run_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    worker = Worker(services, threads=1, schedule_seconds=0.05)
    worker.start()
    try:
        wait_for(lambda: len(audit_rows(services, f"SCHEDULED /event/{definition_id}")) == 2)
    finally:
        worker.stop()
    with services.sessions() as session:
        assert counter_total(session, "swept") == 14


def test_cli_runs_scheduled_definitions(
    client: TestClient,
    admin_headers: H,
    services: Services,
    settings: Settings,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens(services, ("C1", {}, {}), ("C2", {}, {}))
    definition_id = save(client, admin_headers, COUNT)
    monkeypatch.setenv("FACTORFLOW_DATA_DIR", str(Path(settings.data_dir)))
    monkeypatch.setenv("FACTORFLOW_DATABASE_URL", database_url)
    runner = CliRunner()
    not_due = runner.invoke(cli_app, ["event", "run-scheduled"])
    assert not_due.exit_code == 0, not_due.output
    assert "0 scheduled run(s)" in not_due.output
    forced = runner.invoke(
        cli_app, ["event", "run-scheduled", "--definition", str(definition_id), "--now"]
    )
    assert forced.exit_code == 0, forced.output
    assert "1 scheduled run(s)" in forced.output
    with services.sessions() as session:
        assert counter_total(session, "swept") == 2
    missing = runner.invoke(cli_app, ["event", "run-scheduled", "--definition", "999"])
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_the_documented_examples_import(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    mail = {"server": "127.0.0.1", "port": "25", "sender": "mfa@example.org"}
    ok(client.post("/smtpserver/mail1", data=mail, headers=admin_headers))
    docs = Path(__file__).resolve().parents[2] / "docs" / "events.md"
    text = docs.read_text(encoding="utf-8").split("\n## Scheduled definitions\n", 1)[1]
    section = text.split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```yaml\n")[1:]]
    assert len(blocks) == 2
    for block in blocks:
        report = ok(client.post("/event/import", json={"data": block}, headers=admin_headers))
        assert report["created"] == 1
    names = {d["name"]: d["schedule"] for d in ok(client.get("/event/", headers=admin_headers))}
    assert names == {"unlock after 7 days": "every 1h", "unused tokens": "0 6 * * 1"}
