"""'New from template' on the definitions list: the editor opens pre-filled from the
server's template, nothing is stored until Save, then the definition is listed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD
from tests.webui.conftest import LiveServer, shot
from tests.webui.helpers import login_admin, nav, server_get, server_post

pytestmark = pytest.mark.browser


def definitions(live_server: LiveServer) -> list[dict[str, object]]:
    url = live_server.url
    auth = server_post(f"{url}/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    headers = {"Authorization": auth.json()["result"]["value"]["token"]}
    listed: list[dict[str, object]] = server_get(f"{url}/event/", headers=headers).json()["result"][
        "value"
    ]
    return listed


def test_new_from_template_prefills_the_editor(page: Page, live_server: LiveServer) -> None:
    login_admin(page)
    nav(page, "Event definitions")
    page.get_by_text("New from template").click()
    menu = page.get_by_role("list", name="Templates")
    expect(menu.get_by_role("link")).to_have_count(7)
    # Without an SMTP server the mail templates say what they need.
    expect(menu.locator("li", has_text="PIN was guessed")).to_contain_text("an SMTP server")
    shot(page, "event-templates")
    menu.get_by_role("link", name="Note the shipping date on new tokens").click()

    expect(page.locator(".notice")).to_contain_text("starts disabled")
    expect(page.get_by_label("Name", exact=True)).to_have_value("ship new tokens")
    expect(page.get_by_role("checkbox", name="token_init", exact=True)).to_be_checked()
    expect(page.get_by_role("checkbox", name="validate_check", exact=True)).not_to_be_checked()
    expect(page.get_by_label("Handler module")).to_have_value("Token")
    expect(page.get_by_label("Action", exact=True)).to_have_value("set description")
    expect(page.get_by_label("Description", exact=True)).to_have_value(
        "This token needs to be shipped {now}+7d"
    )
    expect(page.get_by_label("result_status value")).to_have_value("True")
    expect(page.get_by_label("Active", exact=True)).not_to_be_checked()
    assert definitions(live_server) == []  # opening a template stores nothing

    page.get_by_role("button", name="Create definition").click()
    expect(page.locator("#toast")).to_contain_text("Definition ship new tokens saved")
    [stored] = definitions(live_server)
    assert (stored["event"], stored["action"], stored["active"]) == (
        ["token_init"], "set description", False,
    )  # fmt: skip
    assert stored["conditions"] == {"result_status": "True"}
    nav(page, "Event definitions")
    row = page.locator("tbody tr", has_text="ship new tokens")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("token_init")
