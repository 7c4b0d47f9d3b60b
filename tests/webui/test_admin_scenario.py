"""The administrator's story, through the forms only: a realm on a flat-file store, a
token for a user, a definition "on failed validate_check for HOTP tokens set tokeninfo
locked={now}", its dry run in the Test panel, a real wrong OTP, the EVENT in the audit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.webui.conftest import NARROW, LiveServer, shot
from tests.webui.helpers import login_admin, nav, server_post, wrong_otp

pytestmark = pytest.mark.browser

DEFINITION = "lock-hotp-on-failure"


def card(page: Page, title: str) -> Locator:
    return page.locator("section.card").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )


def create_store_and_realm(page: Page, passwd_file: Path) -> None:
    nav(page, "User stores")
    form = card(page, "Create a user store")
    form.get_by_label("Name", exact=True).fill("resolver1")
    form.get_by_label("File name").fill(str(passwd_file))
    form.get_by_role("button", name="Test connection").click()
    expect(form.locator(".test-result")).to_contain_text("3 users found")
    form.get_by_role("button", name="Create user store").click()
    expect(page.get_by_role("cell", name="resolver1", exact=True)).to_be_visible()

    nav(page, "Realms")
    form = card(page, "Create a realm")
    form.get_by_label("Realm name").fill("realm1")
    form.get_by_role("checkbox", name="resolver1").check()
    form.get_by_role("button", name="Create realm").click()
    expect(page.get_by_role("cell", name=re.compile(r"^realm1"))).to_be_visible()
    shot(page, "realms")


def enrol_hotp_for_alice(page: Page) -> tuple[str, str]:
    nav(page, "Users")
    row = page.get_by_role("row").filter(has_text="alice")
    expect(row).to_contain_text("alice@example.com")
    shot(page, "users")
    row.get_by_role("link", name="Enrol").click()
    expect(page.get_by_label("User", exact=True)).to_have_value("alice")
    page.get_by_label("Token type").select_option("hotp")
    page.get_by_label("Description").fill("alice's HOTP")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    serial = page.get_by_test_id("enrolled-serial").inner_text()
    assert serial.startswith("OATH")
    secret = page.get_by_test_id("otp-secret").get_attribute("data-secret") or ""
    assert len(secret) >= 16
    shot(page, "token-enrolled")
    return serial, secret


def create_definition(page: Page) -> None:
    nav(page, "Event definitions")
    page.get_by_role("link", name="New definition").click()
    page.get_by_label("Name", exact=True).fill(DEFINITION)
    page.get_by_role("checkbox", name="validate_check", exact=True).check()
    page.get_by_label("Handler module").select_option("Token")
    page.get_by_label("Action", exact=True).select_option("set tokeninfo")
    page.get_by_label("Position").select_option("post")
    page.get_by_label("Tokeninfo key", exact=True).fill("locked")
    page.get_by_label("Value", exact=True).fill("{now}")
    page.get_by_label("Add a condition").select_option("tokentype")
    page.get_by_role("button", name="Add condition").click()
    page.locator(".condition-row[data-name=tokentype]").get_by_role("checkbox", name="hotp").check()
    page.get_by_label("Add a condition").select_option("result_value")
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("result_value value").select_option("False")
    expect(page.locator("#expression-preview")).to_contain_text("tokentype AND result_value")
    page.get_by_role("button", name="Create definition").click()
    expect(page.get_by_role("heading", name=f"Definition {DEFINITION}")).to_be_visible()
    shot(page, "event-definition-edit")


def dry_run(page: Page, serial: str) -> None:
    panel = page.locator("#test-panel")
    panel.get_by_label("Event", exact=True).select_option("validate_check")
    panel.get_by_label("Serial").fill(serial)
    panel.get_by_label("Response status").select_option("True")
    panel.get_by_label("Response value").select_option("False")
    panel.get_by_role("button", name="Run test").click()
    result = panel.locator("article.dry-run")
    expect(result).to_contain_text("would fire")
    expect(result.get_by_role("row").filter(has_text="tokentype")).to_contain_text("matched")
    expect(result.get_by_role("row").filter(has_text="result_value")).to_contain_text("matched")
    panel.get_by_label("Response value").select_option("True")
    panel.get_by_role("button", name="Run test").click()
    expect(result).to_contain_text("would not fire")
    expect(result.get_by_role("row").filter(has_text="result_value")).to_contain_text("not matched")
    panel.scroll_into_view_if_needed()
    shot(page, "event-test-panel")
    # Without a serial or user there is no token: the token condition is unknown.
    panel.get_by_label("Serial").fill("")
    panel.get_by_role("button", name="Run test").click()
    expect(result.get_by_role("row").filter(has_text="tokentype")).to_contain_text("unknown")


def test_admin_configures_an_event_in_a_few_clicks(
    page: Page, live_server: LiveServer, passwd_file: Path
) -> None:
    login_admin(page)
    create_store_and_realm(page, passwd_file)
    serial, secret = enrol_hotp_for_alice(page)
    create_definition(page)
    dry_run(page, serial)

    # A real failed authentication with a wrong OTP fires the definition.
    reply = server_post(
        f"{live_server.url}/validate/check",
        data={"user": "alice", "realm": "realm1", "pass": wrong_otp(secret)},
    ).json()
    assert reply["result"]["authentication"] == "REJECT"

    nav(page, "Audit log")
    page.get_by_label("Action").fill("*EVENT*")
    page.get_by_role("button", name="Search").click()
    event_row = page.get_by_role("row").filter(
        has_text="POST-EVENT validate_check>>Token:set tokeninfo"
    )
    expect(event_row).to_be_visible()
    expect(event_row).to_contain_text(serial)
    expect(event_row).to_contain_text(DEFINITION)
    page.get_by_label("Action").fill("")
    page.get_by_role("button", name="Search").click()
    shot(page, "audit")

    # The token now carries the tokeninfo the action set.
    nav(page, "Tokens")
    page.get_by_label("Type").select_option("totp")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No token matches.")).to_be_visible()
    page.get_by_label("Type").select_option("hotp")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name=serial)).to_be_visible()
    shot(page, "tokens")
    page.get_by_role("link", name=serial).click()
    expect(page.get_by_role("row").filter(has_text="locked")).to_contain_text(
        re.compile(r"\d{4}-\d\d-\d\d")
    )
    shot(page, "token-detail")

    nav(page, "Event definitions")
    row = page.get_by_role("row").filter(has_text=DEFINITION)
    expect(row).not_to_contain_text("never")
    shot(page, "event-definitions")
    nav(page, "Dashboard")
    expect(page.get_by_role("row").filter(has_text="hotp")).to_be_visible()
    shot(page, "dashboard")
    page.set_viewport_size(NARROW)
    nav(page, "Event definitions")
    expect(page.get_by_role("heading", name="Event definitions")).to_be_visible()
    shot(page, "event-definitions-390")
