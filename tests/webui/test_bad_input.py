"""Bad input: API errors next to the field, a dead session back at the login with a
message, and a user-role login refused on admin pages (the API refuses, the UI says so)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import USER_PASSWORDS
from tests.webui.conftest import LiveServer, shot
from tests.webui.helpers import login, login_admin, nav
from tests.webui.test_self_service import setup_realm

pytestmark = pytest.mark.browser


def test_event_form_shows_api_errors_next_to_the_field(page: Page) -> None:
    login_admin(page)
    page.goto("/#/events/new")
    page.get_by_label("Name", exact=True).fill("bad-condition")
    page.get_by_role("checkbox", name="validate_check", exact=True).check()
    page.get_by_label("Handler module").select_option("Token")
    page.get_by_label("Action", exact=True).select_option("set tokeninfo")
    page.get_by_label("Tokeninfo key", exact=True).fill("locked")
    page.get_by_label("Add a condition").select_option("failcounter")
    page.get_by_role("button", name="Add condition").click()
    value = page.get_by_label("failcounter value")
    value.fill("lots")
    page.get_by_role("button", name="Create definition").click()
    error = page.locator(".condition-row[data-name=failcounter] .field-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Invalid condition 'failcounter'")
    expect(value).to_have_attribute("aria-invalid", "true")
    expect(value).to_be_focused()
    shot(page, "event-form-error")

    # A required option left empty is named next to its own field.
    value.fill(">5")
    page.get_by_label("Tokeninfo key", exact=True).fill("")
    page.get_by_role("button", name="Create definition").click()
    key_error = page.locator(".field[data-param='option.key'] .field-error")
    expect(key_error).to_contain_text("'key'")
    expect(error).to_be_hidden()

    # A broken custom expression lands next to the expression.
    page.get_by_label("Tokeninfo key", exact=True).fill("locked")
    page.get_by_label("Custom expression (AND / OR / NOT)").check()
    page.get_by_label("Custom expression", exact=True).fill("failcounter AND (")
    page.get_by_role("button", name="Create definition").click()
    expect(page.locator(".field[data-param=condition_expression] .field-error")).to_contain_text(
        "condition_expression"
    )


def test_user_store_form_shows_the_api_error_at_the_file_name(
    page: Page, passwd_file: Path
) -> None:
    login_admin(page)
    nav(page, "User stores")
    page.get_by_label("Name", exact=True).fill("broken")
    page.get_by_label("File name").fill(str(passwd_file) + ".missing")
    page.get_by_role("button", name="Create user store").click()
    error = page.locator(".field[data-param=fileName] .field-error")
    expect(error).to_contain_text("is not a readable file")


def test_an_invalid_session_goes_back_to_the_login_with_a_message(page: Page) -> None:
    login_admin(page)
    page.evaluate(
        "() => { const s = JSON.parse(sessionStorage.getItem('factorflow.session'));"
        " s.token = 'eyJhbGciOiJIUzI1NiJ9.e30.invalid'; "
        "sessionStorage.setItem('factorflow.session', JSON.stringify(s)); }"
    )
    nav_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Tokens")
    nav_link.click()
    expect(page.get_by_role("heading", name="Log in to Factorflow")).to_be_visible()
    expect(page.locator("#login-message")).to_contain_text("session has expired")
    shot(page, "login-session-expired")


def test_a_user_cannot_open_admin_pages(
    page: Page, live_server: LiveServer, passwd_file: Path
) -> None:
    setup_realm(live_server.url, passwd_file)
    login(page, "alice", USER_PASSWORDS["alice"], realm="realm1")
    for path in ("/#/events", "/#/realms", "/#/audit"):
        page.goto(path)
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("necessary role")
    shot(page, "user-not-allowed")
    # Still logged in: the refusal is not a lost session.
    page.goto("/#/me")
    expect(page.get_by_role("heading", name="My tokens")).to_be_visible()
