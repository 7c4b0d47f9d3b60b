"""The help desk replaces a lost token from the token page: the temporary password is
shown once, the user authenticates with PIN + password, and a revoked token offers
no way back."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.webui.conftest import LiveServer
from tests.webui.helpers import login_admin, server_get, server_post
from tests.webui.test_self_service import setup_realm

KEY_HEX = "3132333435363738393031323334353637383930"


@pytest.mark.browser
def test_lost_token_and_revoke_from_the_token_page(
    page: Page, live_server: LiveServer, passwd_file: Path
) -> None:
    admin = setup_realm(live_server.url, passwd_file)
    r = server_post(
        f"{live_server.url}/token/init",
        data={
            "type": "hotp",
            "serial": "PHONE1",
            "otpkey": KEY_HEX,
            "user": "alice",
            "realm": "realm1",
            "pin": "4711",
        },
        headers=admin,
    )
    assert r.status_code == 200, r.text
    page.on("dialog", lambda dialog: dialog.accept())
    login_admin(page)
    page.goto(f"{live_server.url}/#/tokens/PHONE1")
    page.get_by_role("button", name="Lost token").click()
    notice = page.get_by_test_id("one-time-secret")
    expect(notice).to_contain_text("Temporary token lostPHONE1")
    password = notice.locator("code").first.inner_text()
    assert len(password) == 10

    check = server_post(
        f"{live_server.url}/validate/check",
        data={"user": "alice", "realm": "realm1", "pass": "4711" + password},
    )
    assert check.json()["result"]["value"] is True
    # shown once: a reload does not show it again
    page.reload()
    expect(page.get_by_role("heading", name="Token PHONE1")).to_be_visible()
    expect(page.get_by_test_id("one-time-secret")).to_have_count(0)
    expect(page.get_by_role("button", name="Enable")).to_be_visible()

    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("button", name="Revoke")).to_have_count(0)
    expect(page.get_by_role("button", name="Enable")).to_have_count(0)
    listing = server_get(f"{live_server.url}/token/", params={"serial": "PHONE1"}, headers=admin)
    token = listing.json()["result"]["value"]["tokens"][0]
    assert token["revoked"] is True and token["active"] is False
