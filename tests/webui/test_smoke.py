"""The UI is served by the API process, offline, and its modules load without errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.webui.conftest import LiveServer
from tests.webui.helpers import login_admin, server_get

pytestmark = pytest.mark.browser


def test_index_and_assets_are_served_locally(live_server: LiveServer) -> None:
    index = server_get(f"{live_server.url}/")
    assert index.status_code == 200
    assert "default-src 'self'" in index.headers["content-security-policy"]
    assert '<script type="module" src="/static/js/main.js">' in index.text
    assert "http://" not in index.text and "https://" not in index.text
    assert server_get(f"{live_server.url}/static/js/main.js").status_code == 200
    # API routes keep precedence and keep their JSON errors.
    missing = server_get(f"{live_server.url}/static/nope.js")
    assert missing.status_code == 404
    assert server_get(f"{live_server.url}/token/").status_code == 401


def test_admin_logs_in_and_sees_the_dashboard(page: Page) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    login_admin(page)
    expect(page.get_by_role("heading", name="Tokens by type and state")).to_be_visible()
    assert all(
        url.startswith(page.url.split("/#")[0]) or url.startswith("data:") for url in requests
    )
