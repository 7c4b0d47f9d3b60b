"""Workflows that wait (issue 20 item 2), end to end with a real token: "180 days
unused -> mail the owner -> 14 days later, if still unused, disable -> 30 days later,
if still disabled, delete". The scheduler is driven with a controllable clock; the
token's one real use is dated 181 days before the clock's start (the data a token
unused for half a year has)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services, build_services
from factorflow.core.dates import timestamp
from factorflow.events.models import EventDefinition, EventWorkflow
from factorflow.events.scheduler import Scheduler
from factorflow.events.workflows import StepReport
from factorflow.jobs.models import Job
from factorflow.settings import Settings
from factorflow.tokens.info import get_info, set_info
from factorflow.tokens.models import Token
from tests.clocks import DatetimeClock
from tests.tokens.helpers import RFC_KEY_HEX, check, hotp, init_token

H = dict[str, str]
DAY = 86400.0

STEPS = [
    {
        "delay": "14d",
        "handlermodule": "Token",
        "action": "disable",
        "conditions": {"last_auth": "180d", "token_active": "True"},
    },
    {
        "delay": "30d",
        "handlermodule": "Token",
        "action": "delete",
        "conditions": {"token_active": "False"},
    },
]
WORKFLOW = {
    "name": "unused tokens",
    "schedule": "every 1d",
    "sweep": "tokens",
    "handlermodule": "UserNotification",
    "action": "sendmail",
    "option.emailconfig": "mail1",
    "option.To": "tokenowner",
    "option.subject": "Your token {serial} is unused",
    "option.body": "Hello {givenname}, token {serial} was not used for 180 days.",
    "conditions": json.dumps(
        {"token_has_owner": "True", "token_active": "True", "last_auth": "180d"}
    ),
    "unknown_is_match": "0",
    "steps": json.dumps(STEPS),
}


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]["value"]


def refused(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["result"]["error"]["message"]
    return message


class Story:
    """The installation: realm1 with alice, an SMTP server, alice's HOTP token used
    once, the workflow definition, and a clock at its first slot."""

    def __init__(self, client: TestClient, headers: H, services: Services) -> None:
        self.client, self.headers, self.services = client, headers, services
        mail = {"server": "127.0.0.1", "port": "2525", "sender": "mfa@example.org"}
        ok(client.post("/smtpserver/mail1", data=mail, headers=headers))
        enrolled = init_token(
            client, headers, type="hotp", otpkey=RFC_KEY_HEX, pin="1234", user="alice"
        )
        self.serial: str = enrolled["detail"]["serial"]
        assert check(client, user="alice", **{"pass": "1234" + hotp(0)})["result"]["value"]
        self.definition_id = int(ok(client.post("/event", data=WORKFLOW, headers=headers)))
        with services.sessions() as session:
            row = session.get(EventDefinition, self.definition_id)
            assert row is not None and row.next_run_at is not None
            self.clock = DatetimeClock(row.next_run_at)
        self.backdate_last_use(days=181)

    def backdate_last_use(self, *, days: float) -> None:
        with self.services.sessions.begin() as session:
            token = self.token(session)
            assert token is not None and get_info(token, "last_auth")
            moment = self.clock.now.timestamp() - days * DAY
            set_info(token, "last_auth", timestamp(_utc(moment)))

    def token(self, session: Any) -> Token | None:
        return session.scalar(select(Token).where(Token.serial == self.serial))

    def token_row(self) -> Token | None:
        with self.services.sessions() as session:
            return self.token(session)

    def run(self, services: Services | None = None) -> Scheduler:
        """One pass of a worker's scheduler loop at the clock's time."""
        scheduler = Scheduler((services or self.services).event_ports)
        scheduler.run_due(self.clock())
        return scheduler

    def workflows(self) -> list[dict[str, Any]]:
        return list(ok(self.client.get("/event/workflows", headers=self.headers)))

    def mails(self) -> list[Job]:
        with self.services.sessions() as session:
            return list(session.scalars(select(Job).where(Job.kind == "email").order_by(Job.id)))

    def audit(self, like: str) -> list[AuditEntry]:
        with self.services.sessions() as session:
            query = select(AuditEntry).where(AuditEntry.action.like(like)).order_by(AuditEntry.id)
            return list(session.scalars(query))


def _utc(seconds: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC)


@pytest.fixture
def story(client: TestClient, admin_headers: H, services: Services, flatfile_realm: str) -> Story:
    return Story(client, admin_headers, services)


def test_mail_then_disable_then_delete_across_a_worker_restart(
    story: Story, settings: Settings
) -> None:
    story.run()
    (mail,) = story.mails()
    assert mail.recipient == "al***@example.com"  # masked in the job list
    (workflow,) = story.workflows()
    assert workflow["subject"] == {"kind": "token", "serial": story.serial}
    assert (workflow["state"], workflow["step"], workflow["steps"]) == ("running", 1, 2)
    assert workflow["next_step"]["action"] == "disable"
    start = story.clock.now
    assert workflow["due_at"] == (start.replace(microsecond=0) + _days(14)).isoformat()

    story.clock.advance(13 * DAY)  # not due yet; the definition sees the same token again
    story.run()
    assert story.token_row() is not None and story.token_row().active  # type: ignore[union-attr]
    assert len(story.workflows()) == 1  # one running instance per definition + token

    story.clock.advance(1 * DAY)
    story.run()
    token = story.token_row()
    assert token is not None and not token.active
    (workflow,) = story.workflows()
    assert (workflow["state"], workflow["step"], workflow["next_step"]["action"]) == (
        "running",
        2,
        "delete",
    )
    (entry,) = story.audit("POST-EVENT scheduled>>Token:disable")
    assert entry.info.startswith(f"workflow {workflow['id']} step 1: ")
    assert entry.serial == story.serial and entry.success

    # The worker restarts: a new services object on the same database carries on.
    restarted = build_services(settings, migrate=False)
    try:
        story.clock.advance(30 * DAY)
        story.run(restarted)
    finally:
        restarted.close()
    assert story.token_row() is None
    (workflow,) = story.workflows()
    assert (workflow["state"], workflow["reason"], workflow["next_step"]) == (
        "done",
        "the last step ran",
        None,
    )
    steps = story.audit(f"WORKFLOW /event/workflows/{workflow['id']}")
    assert [e.success for e in steps] == [True, True]
    # One mail: while its workflow runs the token is not mailed again.
    assert len(story.mails()) == 1


def test_a_token_used_in_between_ends_the_workflow_without_disabling(story: Story) -> None:
    story.run()
    # alice logs in with her token (at the real time, days before the clock's).
    assert check(story.client, user="alice", **{"pass": "1234" + hotp(1)})["result"]["value"]
    story.clock.advance(14 * DAY)
    story.run()
    token = story.token_row()
    assert token is not None and token.active
    (workflow,) = story.workflows()
    assert (workflow["state"], workflow["reason"]) == ("ended", "condition no longer holds")
    (entry,) = story.audit(f"WORKFLOW /event/workflows/{workflow['id']}")
    assert entry.info.endswith("ended, condition no longer holds") and entry.success
    assert story.audit("POST-EVENT scheduled>>Token:disable") == []


def test_two_workers_racing_run_a_step_once(story: Story, settings: Settings) -> None:
    story.run()
    story.clock.advance(14 * DAY)
    other = build_services(settings, migrate=False)  # a second node on the same database
    nodes = [Scheduler(story.services.event_ports), Scheduler(other.event_ports)]
    barrier = threading.Barrier(len(nodes))
    ran: list[list[StepReport]] = []

    def run(node: Scheduler) -> None:
        barrier.wait()
        ran.append(node.workflows.run_due(story.clock()))

    threads = [threading.Thread(target=run, args=(node,)) for node in nodes]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.close()
    assert sorted(len(reports) for reports in ran) == [0, 1]
    assert len(story.audit("POST-EVENT scheduled>>Token:disable")) == 1
    (workflow,) = story.workflows()
    assert workflow["step"] == 2


def test_workflows_are_listed_and_cancelled(story: Story) -> None:
    story.run()
    (workflow,) = story.workflows()
    client, headers = story.client, story.headers
    cancelled = ok(client.delete(f"/event/workflows/{workflow['id']}", headers=headers))
    assert (cancelled["state"], cancelled["reason"]) == ("cancelled", "cancelled by admin")
    assert "not running" in refused(
        client.delete(f"/event/workflows/{workflow['id']}", headers=headers)
    )
    refused(client.delete("/event/workflows/999999", headers=headers), 404)
    refused(client.delete("/event/workflows/x", headers=headers))
    refused(client.get("/event/workflows", params={"state": "sleeping"}, headers=headers))
    assert ok(client.get("/event/workflows", params={"state": "running"}, headers=headers)) == []
    story.clock.advance(14 * DAY)
    story.run()
    token = story.token_row()
    assert token is not None and token.active  # a cancelled workflow runs no step
    # The definition fires again for the still unused token: a new workflow starts.
    running = ok(client.get("/event/workflows", params={"state": "running"}, headers=headers))
    assert len(running) == 1 and running[0]["id"] != workflow["id"]
    cancel_audit = story.audit("DELETE /event/workflows/%")
    assert cancel_audit and cancel_audit[0].success


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([{"delay": "14x", "handlermodule": "Token", "action": "disable"}], "step 1: delay"),
        ([{"delay": "0m", "handlermodule": "Token", "action": "disable"}], "between 1 minute"),
        ([{"delay": "1d", "handlermodule": "Nope", "action": "disable"}], "step 1"),
        ([{"delay": "1d", "handlermodule": "Token", "action": "explode"}], "step 1"),
        (
            [{"delay": "1d", "handlermodule": "Token", "action": "disable", "colour": "red"}],
            "unknown field 'colour'",
        ),
        (
            [
                {
                    "delay": "1d",
                    "handlermodule": "Token",
                    "action": "disable",
                    "conditions": {"x": "1"},
                }
            ],
            "Unknown condition 'x'",
        ),
        (
            [
                {"delay": "1d", "handlermodule": "Token", "action": "disable"},
                {"delay": "1d", "handlermodule": "RequestMangler", "action": "delete"},
            ],
            "step 2",
        ),
        (
            [
                {
                    "delay": "1d",
                    "handlermodule": "UserNotification",
                    "action": "sendmail",
                    "options": {"emailconfig": "nope", "To": "tokenowner"},
                }
            ],
            "step 1",
        ),
        ("{}", "JSON list"),
        ([1], "not an object"),
    ],
)
def test_steps_are_validated_on_save(
    client: TestClient, admin_headers: H, flatfile_realm: str, steps: Any, message: str
) -> None:
    data = {**WORKFLOW, "option.emailconfig": "", "handlermodule": "Logging", "action": "logging"}
    for key in ("option.emailconfig", "option.To", "option.subject", "option.body"):
        data.pop(key)
    data["steps"] = steps if isinstance(steps, str) else json.dumps(steps)
    assert message in refused(client.post("/event", data=data, headers=admin_headers))
    assert ok(client.get("/event/", headers=admin_headers)) == []


def test_a_request_bound_definition_has_no_steps(client: TestClient, admin_headers: H) -> None:
    data = {
        "name": "on check",
        "event": "validate_check",
        "handlermodule": "Logging",
        "action": "logging",
        "steps": json.dumps([{"delay": "1d", "handlermodule": "Token", "action": "disable"}]),
    }
    assert "only a scheduled definition" in refused(
        client.post("/event", data=data, headers=admin_headers)
    )


def test_steps_are_shown_and_kept_on_update(story: Story) -> None:
    client, headers = story.client, story.headers
    (shown,) = ok(client.get(f"/event/{story.definition_id}", headers=headers))
    assert [s["action"] for s in shown["steps"]] == ["disable", "delete"]
    assert shown["steps"][0]["unknown_is_match"] is False  # the definition's, by default
    ok(client.post("/event", data={"id": str(story.definition_id), "name": "x"}, headers=headers))
    (shown,) = ok(client.get(f"/event/{story.definition_id}", headers=headers))
    assert len(shown["steps"]) == 2
    with story.services.sessions() as session:
        assert session.scalar(select(EventWorkflow.id)) is None


def test_steps_are_exported_and_reimport_unchanged(story: Story) -> None:
    client, headers = story.client, story.headers
    document = ok(client.get("/event/export", params={"format": "json"}, headers=headers))
    (exported,) = document["definitions"]
    assert [s["delay"] for s in exported["steps"]] == ["14d", "30d"]
    report = ok(client.post("/event/import", json={"data": json.dumps(document)}, headers=headers))
    assert report["unchanged"] == 1
    exported["steps"] = exported["steps"][:1]
    report = ok(client.post("/event/import", json={"data": json.dumps(document)}, headers=headers))
    assert report["updated"] == 1
    (shown,) = ok(client.get(f"/event/{story.definition_id}", headers=headers))
    assert len(shown["steps"]) == 1


def _days(n: int) -> Any:
    from datetime import timedelta

    return timedelta(days=n)


def test_a_users_sweep_starts_a_workflow_per_user(
    client: TestClient, admin_headers: H, services: Services, flatfile_realm: str
) -> None:
    from factorflow.events.handlers.counter import counter_total

    steps = [
        {"delay": "1d", "handlermodule": "Counter", "action": "increase_counter",
         "options": {"counter_name": "stepped"}, "conditions": {"realm": "realm1"}},
    ]  # fmt: skip
    data = {
        "name": "greet users",
        "schedule": "every 1d",
        "sweep": "users",
        "handlermodule": "Logging",
        "action": "logging",
        "conditions": json.dumps({"realm": "realm1"}),
        "steps": json.dumps(steps),
    }
    definition_id = int(ok(client.post("/event", data=data, headers=admin_headers)))
    with services.sessions() as session:
        row = session.get(EventDefinition, definition_id)
        assert row is not None and row.next_run_at is not None
        clock = DatetimeClock(row.next_run_at)
    Scheduler(services.event_ports).run_due(clock())
    running = ok(client.get("/event/workflows", headers=admin_headers))
    users = sorted(w["subject"]["uid"] for w in running)
    assert users and {w["subject"]["kind"] for w in running} == {"user"}
    assert {w["subject"]["realm"] for w in running} == {"realm1"}
    clock.advance(DAY)
    Scheduler(services.event_ports).run_due(clock())
    with services.sessions() as session:
        assert counter_total(session, "stepped") == len(users)
    done = ok(client.get("/event/workflows", params={"state": "done"}, headers=admin_headers))
    assert sorted(w["subject"]["uid"] for w in done) == users
    # This pass swept the users before their workflows ended: the next one starts new ones.
    running = ok(client.get("/event/workflows", params={"state": "running"}, headers=admin_headers))
    assert running == []
    clock.advance(DAY)
    Scheduler(services.event_ports).run_due(clock())
    running = ok(client.get("/event/workflows", params={"state": "running"}, headers=admin_headers))
    assert len(running) == len(users)
