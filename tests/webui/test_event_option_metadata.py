"""The event editor hides and fills option fields from the handler's metadata
(privacyIDEA's ``visibleIf`` / ``visibleValue`` and value lists), and reads a
definition as ``GET /event/<id>`` answers it (a list of one, ``[]`` when unknown)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.webui.conftest import LiveServer
from tests.webui.helpers import login_admin, server_get, server_post
from tests.webui.test_self_service import setup_realm

pytestmark = pytest.mark.browser


def option(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f".field[data-param='option.{name}']")


def test_enroll_options_follow_the_token_type(
    page: Page, live_server: LiveServer, passwd_file: Path
) -> None:
    url = live_server.url
    headers = setup_realm(url, passwd_file)
    smtp = {"server": "127.0.0.1", "port": "2525", "sender": "mfa@example.org"}
    assert server_post(f"{url}/smtpserver/mail1", data=smtp, headers=headers).status_code == 200
    gateway = {"name": "gw1", "module": "http", "option.URL": "http://127.0.0.1:9/send",
               "option.HTTP_METHOD": "POST", "option.to": "{phone}", "option.text": "{otp}"}  # fmt: skip
    assert server_post(f"{url}/smsgateway", data=gateway, headers=headers).status_code == 200

    login_admin(page)
    page.goto("/#/events/new?module=Token")
    page.get_by_label("Name", exact=True).fill("sms for new users")
    page.get_by_role("checkbox", name="auth", exact=True).check()
    page.get_by_label("Action", exact=True).select_option("enroll")
    tokentype = page.get_by_label("Token type", exact=True)
    expect(tokentype.locator("option[value=sms]")).to_have_count(1)  # filled: token types
    expect(
        page.get_by_label("Token realm", exact=True).locator("option[value=realm1]")
    ).to_have_count(1)

    tokentype.select_option("hotp")
    for name in ("dynamic_phone", "sms_identifier", "dynamic_email", "smtp_identifier"):
        expect(option(page, name)).to_be_hidden()
    tokentype.select_option("email")
    expect(option(page, "dynamic_email")).to_be_visible()
    expect(option(page, "smtp_identifier").locator("option[value=mail1]")).to_have_count(1)
    expect(option(page, "dynamic_phone")).to_be_hidden()
    tokentype.select_option("sms")
    expect(option(page, "dynamic_email")).to_be_hidden()
    expect(option(page, "smtp_identifier")).to_be_hidden()
    page.get_by_label("Phone number from the user store", exact=True).check()
    page.get_by_label("SMS gateway", exact=True).select_option("gw1")
    page.get_by_label("Assign to the request's user", exact=True).check()
    page.get_by_role("button", name="Create definition").click()
    expect(page.locator("#toast")).to_contain_text("saved")

    (stored,) = server_get(f"{url}/event/", headers=headers).json()["result"]["value"]
    options = stored["options"]
    assert options["tokentype"] == "sms" and options["dynamic_phone"] == "True"
    assert options["sms_identifier"] == "gw1"
    assert "dynamic_email" not in options and "smtp_identifier" not in options  # hidden: not sent

    # the editor reads GET /event/<id> (a list of one) and shows what applies
    page.goto(f"/#/events/{stored['id']}")
    expect(page.get_by_role("heading", name="Definition sms for new users")).to_be_visible()
    expect(page.get_by_label("Phone number from the user store", exact=True)).to_be_checked()
    expect(page.get_by_label("SMS gateway", exact=True)).to_have_value("gw1")
    expect(option(page, "dynamic_email")).to_be_hidden()

    # the PIN lengths privacyIDEA lists
    page.get_by_label("Action", exact=True).select_option("set random pin")
    length = page.get_by_label("PIN length", exact=True)
    expect(length.locator("option")).to_have_count(32)  # "" and 1 to 31
    expect(length).to_have_value("6")

    page.goto("/#/events/424242")
    expect(page.get_by_role("heading", name="Definition not found")).to_be_visible()
