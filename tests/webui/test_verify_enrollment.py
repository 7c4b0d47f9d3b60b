"""With a verify_enrollment policy the self-service page asks for a code from the new
token, and the token authenticates only after that step."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import USER_PASSWORDS
from tests.webui.conftest import LiveServer
from tests.webui.helpers import login, server_get, server_post, totp, wrong_otp
from tests.webui.test_self_service import setup_realm


@pytest.mark.browser
def test_user_verifies_the_new_totp_token(
    page: Page, live_server: LiveServer, passwd_file: Path
) -> None:
    admin = setup_realm(live_server.url, passwd_file)
    r = server_post(
        f"{live_server.url}/policy/verify-totp",
        data={"scope": "enrollment", "action": "verify_enrollment=totp", "realm": "realm1"},
        headers=admin,
    )
    assert r.status_code == 200, r.text

    login(page, "alice", USER_PASSWORDS["alice"], realm="realm1")
    page.get_by_label("Kind").select_option("totp")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("heading", name="Token enrolled: verify it")).to_be_visible()
    secret = page.get_by_test_id("otp-secret").get_attribute("data-secret") or ""
    serial = page.get_by_test_id("enrolled-serial").inner_text()

    def authenticates() -> bool:
        reply = server_post(
            f"{live_server.url}/validate/check",
            data={"user": "alice", "realm": "realm1", "pass": totp(secret)},
        ).json()
        return bool(reply["result"]["value"])

    assert not authenticates()  # not before the verification
    code = page.get_by_label("Code from the new token")
    code.fill(wrong_otp(secret))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    code.fill(totp(secret))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("enrolment-verified")).to_be_visible()

    listing = server_get(f"{live_server.url}/token/", params={"serial": serial}, headers=admin)
    assert listing.json()["result"]["value"]["tokens"][0]["rollout_state"] == "enrolled"
