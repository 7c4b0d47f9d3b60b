"""Log out ends the session on the server; the audit page shows login lockouts and
clears them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.auth.helpers import rules
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD
from tests.webui.conftest import LiveServer, shot
from tests.webui.helpers import login_admin, nav, server_get, server_post, session_token

pytestmark = pytest.mark.browser


def test_log_out_revokes_the_jwt(page: Page, live_server: LiveServer) -> None:
    login_admin(page)
    token = session_token(page)
    assert server_get(f"{live_server.url}/audit/", headers={"Authorization": token}).is_success
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#login-message")).to_contain_text("You have logged out")
    after = server_get(f"{live_server.url}/audit/", headers={"Authorization": token})
    assert after.status_code == 401
    assert after.json()["result"]["error"]["code"] == 4305


def test_the_audit_page_lists_and_clears_a_lockout(page: Page, live_server: LiveServer) -> None:
    # A lockout of 15 minutes (the default backoff would end while the page loads).
    live_server.services.logins.throttle.rules = rules(account=(0, 5), lockout=900)
    for n in range(5):
        server_post(
            f"{live_server.url}/auth", data={"username": "mallory", "password": f"guess-{n}"}
        )
    login_admin(page)
    nav(page, "Audit log")
    section = page.locator("section.card").filter(
        has=page.get_by_role("heading", name="Login lockouts")
    )
    expect(section.get_by_role("cell", name="mallory@", exact=True)).to_be_visible()
    expect(section).to_contain_text("lockout")
    shot(page, "audit-login-lockouts")
    page.on("dialog", lambda dialog: dialog.accept())
    section.get_by_role("button", name="Clear mallory@").click()
    expect(section).to_contain_text("No account or client is throttled.")
    # The admin's own login was never throttled.
    response = server_post(
        f"{live_server.url}/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD}
    )
    assert response.is_success
