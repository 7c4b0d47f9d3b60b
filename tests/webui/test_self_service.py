"""A realm user logs in with the realm password, enrols a TOTP token from what the
page shows (QR code and secret), authenticates with it, and manages only own tokens."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD, USER_PASSWORDS
from tests.webui.conftest import NARROW, WIDE, LiveServer, shot
from tests.webui.helpers import login, server_post, totp


def setup_realm(url: str, passwd_file: Path) -> dict[str, str]:
    """realm1 on a flat-file store, made through the API as the admin."""
    auth = server_post(f"{url}/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    headers = {"Authorization": auth.json()["result"]["value"]["token"]}
    r = server_post(
        f"{url}/resolver/resolver1",
        data={"type": "passwdresolver", "fileName": str(passwd_file)},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    r = server_post(f"{url}/realm/realm1", data={"resolvers": "resolver1"}, headers=headers)
    assert r.status_code == 200, r.text
    return headers


@pytest.mark.browser
def test_user_enrols_totp_and_authenticates(
    page: Page, live_server: LiveServer, passwd_file: Path
) -> None:
    admin = setup_realm(live_server.url, passwd_file)
    # Bob's token must stay invisible to alice.
    r = server_post(
        f"{live_server.url}/token/init",
        data={"type": "hotp", "genkey": "1", "user": "bob", "realm": "realm1"},
        headers=admin,
    )
    bob_serial = r.json()["detail"]["serial"]

    page.set_viewport_size(NARROW)
    login(page, "alice", USER_PASSWORDS["alice"], realm="realm1")
    expect(page.get_by_role("heading", name="My tokens")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_count(1)
    expect(page.get_by_text("You have no tokens yet")).to_be_visible()
    expect(page.get_by_text(bob_serial)).to_have_count(0)

    page.get_by_label("Kind").select_option("totp")
    page.get_by_label("Description").fill("phone app")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    secret = page.get_by_test_id("otp-secret").get_attribute("data-secret") or ""
    serial = page.get_by_test_id("enrolled-serial").inner_text()
    assert serial.startswith("TOTP") and len(secret) >= 16
    shot(page, "self-service-enrolled-390")

    reply = server_post(
        f"{live_server.url}/validate/check",
        data={"user": "alice", "realm": "realm1", "pass": totp(secret)},
    ).json()
    assert reply["result"]["value"] is True, reply
    assert reply["result"]["authentication"] == "ACCEPT"

    page.get_by_role("button", name="Done — show my tokens").click()
    row = page.get_by_role("row").filter(has_text=serial)
    expect(row).to_contain_text("active")
    # Set a PIN, disable, then delete the own token.
    row.locator("summary", has_text="Set PIN").click()
    row.get_by_label(f"New PIN for {serial}").fill("4711")
    row.get_by_role("button", name="Set PIN").click()
    expect(page.locator("#toast")).to_contain_text("PIN set")
    page.set_viewport_size(WIDE)
    page.get_by_role("button", name=f"Disable {serial}").click()
    expect(page.get_by_role("row").filter(has_text=serial)).to_contain_text("disabled")
    shot(page, "self-service")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Delete {serial}").click()
    expect(page.get_by_text("You have no tokens yet")).to_be_visible()
