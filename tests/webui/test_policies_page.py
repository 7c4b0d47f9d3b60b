"""The policies page: a form generated from /policy/defs, saved, listed, bad input shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.webui.helpers import login_admin, nav

pytestmark = pytest.mark.browser


def card(page: Page, title: str) -> Locator:
    return page.locator("section.card").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )


def test_create_policy_from_generated_form(page: Page) -> None:
    login_admin(page)
    nav(page, "Policies")
    form = card(page, "Add a policy")
    form.get_by_label("Name", exact=True).fill("ldap-pin")
    form.get_by_label("otppin").select_option("userstore")
    form.get_by_label("passOnNoToken").check()
    form.get_by_label("Realms", exact=True).fill("realm1")
    form.get_by_role("button", name="Save policy").click()
    row = page.get_by_role("row").filter(has_text="ldap-pin")
    expect(row).to_contain_text("otppin=userstore")
    expect(row).to_contain_text("passOnNoToken")
    # Switching the scope regenerates the action fields.
    form = card(page, "Add a policy")
    form.get_by_label("Scope").select_option("enrollment")
    expect(form.get_by_label("max_token_per_user")).to_be_visible()
    # Bad input is refused and shown next to its field.
    form.get_by_label("Name", exact=True).fill("bad")
    form.get_by_label("max_token_per_user").fill("2")
    form.get_by_label("Client networks").fill("10.0.0.300/8")
    form.get_by_role("button", name="Save policy").click()
    expect(form.locator(".field[data-param=client] .field-error")).to_be_visible()
