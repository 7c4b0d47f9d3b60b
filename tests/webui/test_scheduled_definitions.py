"""A scheduled definition made in the editor: the trigger choice, schedule and sweep
fields, a dry run over a sample of the sweep, a refused schedule shown at its field,
and the list with the schedule and the next run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from factorflow.core.dates import timestamp
from factorflow.tokens.info import set_info
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD
from tests.events.conftest import add_token
from tests.webui.conftest import LiveServer, shot
from tests.webui.helpers import login_admin, nav, server_get, server_post

pytestmark = pytest.mark.browser

NAME = "unlock after a week"


def seed_tokens(live_server: LiveServer) -> None:
    long_ago = timestamp(datetime.now(UTC) - timedelta(days=8))
    with live_server.services.sessions.begin() as session:
        locked = add_token(session, "LOCKED-LONG", failcount=10, maxfail=10)
        set_info(locked, "failcounter_exceeded", long_ago)
        add_token(session, "FINE-1")


def test_admin_creates_a_scheduled_definition(page: Page, live_server: LiveServer) -> None:
    seed_tokens(live_server)
    login_admin(page)
    nav(page, "Event definitions")
    page.get_by_role("link", name="New definition").click()
    page.get_by_label("Name", exact=True).fill(NAME)
    # Request events are the default trigger; a schedule replaces events and position.
    expect(page.get_by_role("checkbox", name="validate_check", exact=True)).to_be_visible()
    expect(page.get_by_label("Schedule", exact=True)).to_be_hidden()
    page.get_by_label("Trigger", exact=True).select_option("schedule")
    expect(page.get_by_role("checkbox", name="validate_check", exact=True)).to_be_hidden()
    expect(page.get_by_label("Position")).to_be_hidden()
    page.get_by_label("Schedule", exact=True).fill("every 5x")
    page.get_by_label("Sweep", exact=True).select_option("tokens")
    page.get_by_label("Handler module").select_option("Token")
    page.get_by_label("Action", exact=True).select_option("set failcounter")
    page.get_by_label("Fail counter", exact=True).fill("0")
    page.get_by_label("Add a condition").select_option("token_locked")
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("token_locked value").select_option("True")

    # A bad schedule is refused next to its field, and nothing is stored.
    page.get_by_role("button", name="Create definition").click()
    schedule_field = page.locator(".field[data-param=schedule]")
    expect(schedule_field.locator(".field-error")).to_contain_text("'schedule'")
    auth = server_post(
        f"{live_server.url}/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD}
    )
    headers = {"Authorization": auth.json()["result"]["value"]["token"]}
    assert server_get(f"{live_server.url}/event/", headers=headers).json()["result"]["value"] == []

    page.get_by_label("Schedule", exact=True).fill("every 1h")
    # The dry run tries the sweep's tokens and changes nothing.
    panel = page.locator("#test-panel")
    panel.get_by_label("Event", exact=True).select_option("scheduled")
    # Only the sweep's sample applies: no caller, client or response to fake.
    expect(panel.get_by_label("Response status")).to_be_hidden()
    expect(panel.get_by_label("Sample size")).to_be_visible()
    panel.get_by_role("button", name="Run test").click()
    result = panel.locator("article.dry-run")
    expect(result).to_contain_text("would fire for 1 of 2")
    expect(result.get_by_role("row").filter(has_text="LOCKED-LONG")).to_contain_text("would fire")
    expect(result.get_by_role("row").filter(has_text="FINE-1")).to_contain_text("would not fire")
    shot(page, "event-scheduled-test")

    page.get_by_role("button", name="Create definition").click()
    expect(page.get_by_role("heading", name=f"Definition {NAME}")).to_be_visible()
    expect(page.get_by_label("Trigger", exact=True)).to_have_value("schedule")
    expect(page.get_by_label("Schedule", exact=True)).to_have_value("every 1h")
    (stored,) = server_get(f"{live_server.url}/event/", headers=headers).json()["result"]["value"]
    assert (stored["event"], stored["schedule"], stored["sweep"]) == (
        ["scheduled"],
        "every 1h",
        "tokens",
    )
    assert stored["conditions"] == {"token_locked": "True"}
    assert stored["next_run_at"]

    nav(page, "Event definitions")
    row = page.get_by_role("row").filter(has_text=NAME)
    expect(row).to_contain_text("schedule every 1h, tokens")
    expect(row.locator("td").nth(2)).not_to_have_text("—")
    shot(page, "event-scheduled-list")
