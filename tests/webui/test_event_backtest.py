"""The definition editor's Backtest panel: a disabled definition replayed on seeded
audit entries, the per-day chart and the per-condition table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD
from tests.events.test_backtest import audit_row
from tests.webui.conftest import LiveServer, shot
from tests.webui.helpers import login_admin, server_post

pytestmark = pytest.mark.browser

CHECK = "POST /validate/check"


def test_backtest_panel_charts_and_counts(page: Page, live_server: LiveServer) -> None:
    url, services = live_server.url, live_server.services
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    # Today 3 rejected + 1 accepted, two days ago 2 rejected, a token list (other event).
    for back, authentication, count in ((0, "REJECT", 3), (0, "ACCEPT", 1), (2, "REJECT", 2)):
        date = midnight - timedelta(days=back) + timedelta(minutes=5)
        rows += [audit_row(date=date, startdate=date, action=CHECK, authentication=authentication,
                           user="alice", realm="realm1", client="192.0.2.7")] * count  # fmt: skip
    rows.append(audit_row(date=midnight, startdate=midnight, action="GET /token/"))
    services.audit.writer.append(rows)
    auth = server_post(f"{url}/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    headers = {"Authorization": auth.json()["result"]["value"]["token"]}
    saved = server_post(f"{url}/event", headers=headers, data={
        "name": "reject-log", "event": "validate_check", "handlermodule": "Logging",
        "action": "logging", "position": "post", "active": "False", "unknown_is_match": "False",
        "conditions": json.dumps({"result_value": "False"}),
    })  # fmt: skip
    assert saved.status_code == 200, saved.text
    definition_id = saved.json()["result"]["value"]

    login_admin(page)
    page.goto(f"{url}/#/events/{definition_id}")
    panel = page.locator("#backtest-panel")
    panel.get_by_label("Days", exact=True).fill("3")
    panel.get_by_role("button", name="Run backtest").click()
    result = panel.locator("article.backtest")
    expect(result).to_contain_text("would fire for 5 of 6 requests")
    expect(result).to_contain_text("Logging: logging would run 5 times")
    days = result.locator("svg.backtest-chart g.day")
    expect(days).to_have_count(3)
    assert [days.nth(n).get_attribute("data-fired") for n in range(3)] == ["2", "0", "3"]
    assert [days.nth(n).get_attribute("data-evaluated") for n in range(3)] == ["2", "0", "4"]
    conditions = result.locator("table", has_text="Per condition")
    expect(conditions.locator("tbody tr")).to_have_count(1)
    expect(conditions.locator("tbody tr")).to_contain_text("result_value")
    cells = conditions.locator("tbody tr td")
    assert [cells.nth(n).inner_text().strip() for n in (2, 3, 4)] == ["5", "1", "0"]
    expect(result.locator("table", has_text="Per audited action")).to_contain_text(CHECK)
    expect(result.locator("table", has_text="newest requests")).to_contain_text("alice@realm1")
    result.scroll_into_view_if_needed()
    shot(page, "event-backtest")
    # Out of range: the API's error in the form, the last answer stays.
    panel.get_by_label("Days", exact=True).fill("0")
    panel.get_by_role("button", name="Run backtest").click()
    expect(panel.locator(".form-error, .field-error").filter(has_text="days")).to_be_visible()
    listed = server_post(f"{url}/event/backtest", headers=headers,
                         data={"eventid": str(definition_id), "days": "3"})  # fmt: skip
    assert listed.json()["result"]["value"]["fired"] == 5
