"""The blast-radius guard (issue 20 item 3): a scheduled run that would act on too many
tokens pauses, nothing is acted on, the admins are told, and an admin confirms (run
once as planned) or cancels it. Driven with a controllable clock."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services, build_services
from factorflow.core.dates import timestamp
from factorflow.events.models import EventDefinition
from factorflow.events.scheduler import Scheduler
from factorflow.jobs.models import Job
from factorflow.settings import Settings
from factorflow.tokens.info import set_info
from factorflow.tokens.models import Token
from tests.clocks import DatetimeClock
from tests.events.conftest import add_token

H = dict[str, str]
DAY = 86400.0
DISABLE_UNUSED = {
    "name": "disable unused",
    "schedule": "every 1d",
    "sweep": "tokens",
    "handlermodule": "Token",
    "action": "disable",
    "conditions": json.dumps({"last_auth": "180d"}),
    "unknown_is_match": "0",
}


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]["value"]


def refused(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["result"]["error"]["message"]
    return message


def setup(
    client: TestClient, headers: H, services: Services, **limits: str
) -> tuple[int, DatetimeClock]:
    """10 tokens unused for 200 days and 2 used yesterday; the definition; a clock at
    its first slot."""
    definition_id = int(
        ok(client.post("/event", data={**DISABLE_UNUSED, **limits}, headers=headers))
    )
    with services.sessions.begin() as session:
        row = session.get(EventDefinition, definition_id)
        assert row is not None and row.next_run_at is not None
        clock = DatetimeClock(row.next_run_at)
        for n in range(12):
            token = add_token(session, f"T{n:02d}")
            days = 200 if n < 10 else 1
            set_info(token, "last_auth", timestamp(clock.now - timedelta(days=days)))
    return definition_id, clock


def disabled(services: Services) -> int:
    with services.sessions() as session:
        return len(list(session.scalars(select(Token).where(Token.active.is_(False)))))


def summaries(services: Services, definition_id: int) -> list[AuditEntry]:
    with services.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == f"SCHEDULED /event/{definition_id}")
        return list(session.scalars(query.order_by(AuditEntry.id)))


def test_a_run_over_the_share_pauses_until_an_admin_confirms(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    definition_id, clock = setup(client, admin_headers, services, max_share="50")
    scheduler = Scheduler(services.event_ports)
    (report,) = scheduler.run_due(clock())
    assert report.paused is not None and disabled(services) == 0  # nothing acted on
    (paused,) = ok(client.get("/event/paused", headers=admin_headers))
    assert (paused["state"], paused["swept"], paused["matched"]) == ("paused", 12, 10)
    assert paused["reason"] == "would act on 10 of 12 (83 %), more than max_share 50 %"
    (entry,) = summaries(services, definition_id)
    assert "paused by the blast-radius guard" in entry.info and entry.success  # none failed
    assert scheduler.run_due(clock()) == [] and disabled(services) == 0  # waits for a human

    confirmed = ok(client.post(f"/event/paused/{paused['id']}/confirm", headers=admin_headers))
    assert (confirmed["state"], confirmed["decided_by"]) == ("confirmed", "admin")
    (run,) = scheduler.run_due(clock())  # the next pass runs it once, as planned
    assert (run.swept, run.matched, run.failed) == (12, 10, 0) and disabled(services) == 10
    (paused,) = ok(client.get("/event/paused", headers=admin_headers))
    assert paused["state"] == "done" and "matched 10 of 12" in paused["outcome"]
    assert scheduler.run_due(clock()) == []  # once
    assert "not paused" in refused(
        client.post(f"/event/paused/{paused['id']}/confirm", headers=admin_headers)
    )


def test_a_cancelled_run_does_nothing_and_the_next_slot_asks_again(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    definition_id, clock = setup(client, admin_headers, services, max_subjects="3")
    scheduler = Scheduler(services.event_ports)
    scheduler.run_due(clock())
    (paused,) = ok(client.get("/event/paused", params={"state": "paused"}, headers=admin_headers))
    assert paused["reason"] == "would act on 10 of 12, more than max_subjects 3"
    cancelled = ok(client.delete(f"/event/paused/{paused['id']}", headers=admin_headers))
    assert cancelled["state"] == "cancelled"
    scheduler.run_due(clock())
    assert disabled(services) == 0
    clock.advance(DAY)
    scheduler.run_due(clock())
    assert disabled(services) == 0
    states = [p["state"] for p in ok(client.get("/event/paused", headers=admin_headers))]
    assert states == ["paused", "cancelled"]  # newest first
    assert all("paused" in e.info for e in summaries(services, definition_id))
    refused(client.delete("/event/paused/999999", headers=admin_headers), 404)
    refused(client.get("/event/paused", params={"state": "asleep"}, headers=admin_headers))


def test_a_run_within_the_limits_is_not_paused(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    _, clock = setup(client, admin_headers, services, max_subjects="10", max_share="90")
    (report,) = Scheduler(services.event_ports).run_due(clock())
    assert report.paused is None and disabled(services) == 10
    assert ok(client.get("/event/paused", headers=admin_headers)) == []


def test_the_system_default_applies_and_the_admin_is_mailed(
    client: TestClient, admin_headers: H, services: Services, settings: Settings
) -> None:
    mail = {"server": "127.0.0.1", "port": "2525", "sender": "mfa@example.org"}
    ok(client.post("/smtpserver/mail1", data=mail, headers=admin_headers))
    definition_id, clock = setup(client, admin_headers, services)
    guarded = settings.model_copy(
        update={
            "guard_max_share": 50,
            "guard_admin_email": "mfa-admins@example.org",
            "guard_smtp_server": "mail1",
        }
    )
    node = build_services(guarded, migrate=False)
    try:
        (report,) = Scheduler(node.event_ports).run_due(clock())
    finally:
        node.close()
    assert report.paused is not None and disabled(services) == 0
    with services.sessions() as session:
        (job,) = session.scalars(select(Job).where(Job.kind == "email"))
        assert job.request_id == report.request_id and job.recipient.endswith("@example.org")
    # A definition's own limits replace the default.
    ok(
        client.post(
            "/event", data={"id": str(definition_id), "max_share": "100"}, headers=admin_headers
        )
    )
    clock.advance(DAY)
    node = build_services(guarded, migrate=False)
    try:
        (report,) = Scheduler(node.event_ports).run_due(clock())
    finally:
        node.close()
    assert report.paused is None and disabled(services) == 10


def test_limits_are_validated(client: TestClient, admin_headers: H) -> None:
    assert "'max_share'" in refused(
        client.post("/event", data={**DISABLE_UNUSED, "max_share": "101"}, headers=admin_headers)
    )
    assert "'max_subjects'" in refused(
        client.post("/event", data={**DISABLE_UNUSED, "max_subjects": "-1"}, headers=admin_headers)
    )
    request_bound = {"name": "x", "event": "token_init", "handlermodule": "Logging",
                     "action": "logging", "max_subjects": "5"}  # fmt: skip
    assert "only a scheduled definition" in refused(
        client.post("/event", data=request_bound, headers=admin_headers)
    )
    assert ok(client.get("/event/", headers=admin_headers)) == []
