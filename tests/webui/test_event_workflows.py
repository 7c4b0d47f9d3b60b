"""The Workflows page: running workflows with their next step and due time, and a
cancel button (issue 20 item 2)."""

from __future__ import annotations

import json
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
