"""The Workflows page: running workflows with their next step and due time, and a
cancel button (issue 20 item 2)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from factorflow.core.dates import timestamp
from factorflow.events.scheduler import Scheduler
from factorflow.tokens.info import set_info
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD
from tests.events.conftest import add_token
from tests.webui.conftest import LiveServer, shot
from tests.webui.helpers import login_admin, nav, server_post

pytestmark = pytest.mark.browser


def start_workflow(live_server: LiveServer) -> None:
    with live_server.services.sessions.begin() as session:
        token = add_token(session, "UNUSED-1")
        set_info(token, "last_auth", timestamp(datetime.now(UTC) - timedelta(days=200)))
    auth = server_post(
        f"{live_server.url}/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD}
    )
    headers = {"Authorization": auth.json()["result"]["value"]["token"]}
    steps = [
        {"delay": "14d", "handlermodule": "Token", "action": "disable",
         "conditions": {"last_auth": "180d"}},
    ]  # fmt: skip
    saved = server_post(
        f"{live_server.url}/event",
        data={
            "name": "unused tokens",
            "schedule": "every 1d",
            "handlermodule": "Logging",
            "action": "logging",
            "conditions": json.dumps({"last_auth": "180d"}),
            "unknown_is_match": "0",
            "steps": json.dumps(steps),
        },
        headers=headers,
    )
    definition_id = int(saved.json()["result"]["value"])
    Scheduler(live_server.services.event_ports).run_one(definition_id, force=True)


def test_admin_sees_and_cancels_a_workflow(page: Page, live_server: LiveServer) -> None:
    start_workflow(live_server)
    login_admin(page)
    nav(page, "Event definitions")
    page.get_by_role("link", name="Workflows").click()
    row = page.get_by_role("row").filter(has_text="UNUSED-1")
    expect(row).to_contain_text("unused tokens")
    expect(row).to_contain_text("step 1 of 1: Token:disable")
    expect(row).to_contain_text("running")
    shot(page, "event-workflows")
    row.get_by_role("button", name="Cancel workflow 1").click()
    expect(page.get_by_text("No workflows in this state.")).to_be_visible()
    page.get_by_label("State", exact=True).select_option("cancelled")
    row = page.get_by_role("row").filter(has_text="UNUSED-1")
    expect(row).to_contain_text("cancelled by admin")


def test_admin_confirms_a_paused_run_on_the_dashboard(page: Page, live_server: LiveServer) -> None:
    long_ago = timestamp(datetime.now(UTC) - timedelta(days=200))
    with live_server.services.sessions.begin() as session:
        for serial in ("OLD-1", "OLD-2"):
            set_info(add_token(session, serial), "last_auth", long_ago)
    auth = server_post(
        f"{live_server.url}/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD}
    )
    headers = {"Authorization": auth.json()["result"]["value"]["token"]}
    saved = server_post(
        f"{live_server.url}/event",
        data={
            "name": "disable unused",
            "schedule": "every 1d",
            "handlermodule": "Token",
            "action": "disable",
            "conditions": json.dumps({"last_auth": "180d"}),
            "unknown_is_match": "0",
            "max_subjects": "1",
        },
        headers=headers,
    )
    definition_id = int(saved.json()["result"]["value"])
    scheduler = Scheduler(live_server.services.event_ports)
    report = scheduler.run_one(definition_id, force=True)
    assert report is not None and report.paused == 1

    login_admin(page)
    row = page.get_by_role("row").filter(has_text="disable unused")
    expect(row).to_contain_text("2 of 2")
    expect(row).to_contain_text("scheduled run")
    expect(row).to_contain_text("more than max_subjects 1")
    shot(page, "dashboard-paused-run")
    row.get_by_role("button", name="Confirm run 1").click()
    expect(page.get_by_text("No scheduled run is waiting for a decision.")).to_be_visible()
    scheduler.run_due()
    with live_server.services.sessions() as session:
        from sqlalchemy import select

        from factorflow.tokens.models import Token

        assert not any(session.scalars(select(Token.active)))


def test_admin_edits_the_steps_and_limits_of_a_scheduled_definition(
    page: Page, live_server: LiveServer
) -> None:
    start_workflow(live_server)
    login_admin(page)
    page.goto(f"{live_server.url}/#/events/1")
    steps = page.get_by_label("Follow-up steps", exact=True)
    expect(steps).to_have_value(re.compile('"action": "disable"'))
    steps.fill('[{"delay": "14x", "handlermodule": "Token", "action": "disable"}]')
    page.get_by_label("Pause above this % of those swept", exact=True).fill("20")
    page.get_by_role("button", name="Save definition").click()
    expect(page.locator(".field[data-param=steps] .field-error")).to_contain_text("step 1")
    steps.fill('[{"delay": "7d", "handlermodule": "Token", "action": "disable"}]')
    page.get_by_role("button", name="Save definition").click()
    expect(page.get_by_text("Definition unused tokens saved")).to_be_visible()
    with live_server.services.sessions() as session:
        from factorflow.events.models import EventDefinition

        row = session.get(EventDefinition, 1)
        assert row is not None and row.max_share == 20
        assert [s["delay"] for s in row.steps or []] == ["7d"]
