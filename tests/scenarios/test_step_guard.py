"""The blast-radius guard for workflow steps that come due together (issue 20 item 3):
a confirmed run starts ten workflows at once, so their "disable" steps come due
together 14 days later; too many for the limits, the batch pauses like a scheduled run
until an admin confirms (the held steps run once) or cancels (the workflows end).
Driven with a controllable clock."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.core.dates import timestamp
from factorflow.events.models import EventDefinition
from factorflow.events.scheduler import Scheduler
from factorflow.tokens.info import set_info
from factorflow.tokens.models import Token
from tests.clocks import DatetimeClock
from tests.events.conftest import add_token

H = dict[str, str]
DAY = 86400.0
#: Mark unused tokens, then disable those still unused 14 days later.
MARK_THEN_DISABLE = {
    "name": "mark then disable",
    "schedule": "every 1d",
    "sweep": "tokens",
    "handlermodule": "Token",
    "action": "set tokeninfo",
    "option.key": "warned",
    "option.value": "{now}",
    "conditions": json.dumps({"last_auth": "180d"}),
    "unknown_is_match": "0",
    "steps": json.dumps(
        [{"delay": "14d", "handlermodule": "Token", "action": "disable",
          "conditions": {"last_auth": "180d"}}]
    ),
}  # fmt: skip


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]["value"]


class Story:
    """12 tokens, 10 unused for 200 days; the definition with ``limits``; its first run
    (paused by the same limits) confirmed, so ten workflows run."""

    def __init__(self, client: TestClient, headers: H, services: Services, **limits: str):
        self.client, self.headers, self.services = client, headers, services
        data = {**MARK_THEN_DISABLE, **limits}
        self.definition_id = int(ok(client.post("/event", data=data, headers=headers)))
        with services.sessions.begin() as session:
            row = session.get(EventDefinition, self.definition_id)
            assert row is not None and row.next_run_at is not None
            self.clock = DatetimeClock(row.next_run_at)
            for n in range(12):
                token = add_token(session, f"T{n:02d}")
                days = 200 if n < 10 else 1
                set_info(token, "last_auth", timestamp(self.clock.now - timedelta(days=days)))
        self.scheduler = Scheduler(services.event_ports)
        self.scheduler.run_due(self.clock())
        (run,) = self.paused()
        assert run["step"] is None  # the definition's own run paused first
        ok(client.post(f"/event/paused/{run['id']}/confirm", headers=headers))
        self.scheduler.run_due(self.clock())
        assert len(self.workflows("running")) == 10

    def paused(self, **params: str) -> list[dict[str, Any]]:
        return list(ok(self.client.get("/event/paused", params=params, headers=self.headers)))

    def workflows(self, state: str = "") -> list[dict[str, Any]]:
        query = {"state": state} if state else {}
        return list(ok(self.client.get("/event/workflows", params=query, headers=self.headers)))

    def disabled(self) -> int:
        with self.services.sessions() as session:
            return len(list(session.scalars(select(Token).where(Token.active.is_(False)))))

    def two_weeks_later(self) -> None:
        self.clock.advance(14 * DAY)
        self.scheduler.run_due(self.clock())

    def batch(self) -> dict[str, Any]:
        (batch,) = [p for p in self.paused() if p["step"] is not None]
        return batch

    def use(self, *serials: str) -> None:
        with self.services.sessions.begin() as session:
            for serial in serials:
                token = session.scalar(select(Token).where(Token.serial == serial))
                assert token is not None
                set_info(token, "last_auth", timestamp(self.clock.now))


def test_a_batch_of_steps_over_the_share_waits_until_confirmed(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    story = Story(client, admin_headers, services, max_share="50")
    story.two_weeks_later()
    assert story.disabled() == 0  # the ten disable steps came due together: held
    batch = story.batch()
    assert (batch["state"], batch["step"], batch["swept"], batch["matched"]) == (
        "paused", 1, 12, 10,
    )  # fmt: skip
    assert batch["reason"] == "would act on 10 of 12 (83 %), more than max_share 50 %"
    running = story.workflows("running")
    assert len(running) == 10 and {w["paused_run"] for w in running} == {batch["id"]}
    with services.sessions() as session:
        (entry,) = session.scalars(
            select(AuditEntry).where(AuditEntry.action == f"WORKFLOW /event/{story.definition_id}")
        )
        assert "paused by the blast-radius guard" in entry.info and entry.success
        assert "step 1 of 1, 10 due" in entry.info
    story.scheduler.run_due(story.clock())  # waits for a human, and pauses nothing new
    assert story.disabled() == 0 and len(story.paused(state="paused")) == 1

    ok(client.post(f"/event/paused/{batch['id']}/confirm", headers=admin_headers))
    story.scheduler.run_due(story.clock())  # the next pass runs the held steps once
    assert story.disabled() == 10
    batch = story.batch()
    assert batch["state"] == "done" and batch["outcome"] == "ran 10 of 10 held steps (done 10)"
    assert len(story.workflows("done")) == 10
    story.scheduler.run_due(story.clock())
    assert story.disabled() == 10


def test_a_cancelled_batch_ends_its_workflows(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    story = Story(client, admin_headers, services, max_subjects="3")
    story.two_weeks_later()
    batch = story.batch()
    assert batch["reason"] == "would act on 10 of 12, more than max_subjects 3"
    cancelled = ok(client.delete(f"/event/paused/{batch['id']}", headers=admin_headers))
    assert cancelled["state"] == "cancelled"
    ended = story.workflows("cancelled")
    assert len(ended) == 10 and all(f"paused run {batch['id']}" in w["reason"] for w in ended)
    story.clock.advance(DAY)
    story.scheduler.run_due(story.clock())
    assert story.disabled() == 0 and story.workflows("running") == []


def test_a_batch_is_counted_by_the_conditions_that_hold_now(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    story = Story(client, admin_headers, services, max_subjects="5")
    story.use("T00", "T01", "T02", "T03", "T04", "T05")  # used again since: still unused 4
    story.two_weeks_later()
    assert [p for p in story.paused() if p["step"] is not None] == []  # 4 <= 5: not paused
    assert story.disabled() == 4
    assert len(story.workflows("done")) == 4 and len(story.workflows("ended")) == 6
