"""The editor's chained-actions checkbox: shown for actions that perform an API request,
saved with the definition."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD
from tests.webui.conftest import LiveServer
from tests.webui.helpers import login_admin, server_get, server_post

pytestmark = pytest.mark.browser

LABEL = "Run the definitions of the request the action performs (chained actions)"


def test_chain_checkbox(page: Page, live_server: LiveServer) -> None:
    url = live_server.url
    auth = server_post(f"{url}/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    headers = {"Authorization": auth.json()["result"]["value"]["token"]}
    params = {"name": "chained", "event": "token_list", "handlermodule": "Token",
              "action": "disable", "position": "post", "chain_events": "1"}  # fmt: skip
    saved = server_post(f"{url}/event", data=params, headers=headers)
    assert saved.status_code == 200, saved.text
    definition_id = saved.json()["result"]["value"]

    login_admin(page)
    page.goto(f"{url}/#/events/{definition_id}")
    chain = page.get_by_label(LABEL)
    expect(chain).to_be_checked()
    page.get_by_label("Action", exact=True).select_option("set failcounter")
    expect(chain).to_be_hidden()  # performs no API request of its own: nothing to chain
    page.get_by_label("Action", exact=True).select_option("enable")
    expect(chain).to_be_visible()
    chain.uncheck()
    page.get_by_role("button", name="Save definition").click()
    expect(page.get_by_text("Definition chained saved")).to_be_visible()
    listed = server_get(f"{url}/event/{definition_id}", headers=headers).json()
    stored = listed["result"]["value"][0]
    assert (stored["action"], "chain_events" in stored) == ("enable", False)
