"""A token type installed as a plug-in (an entry point, no JavaScript): its enrolment
field appears on the enrolment page, because the page is generated from the type's
served description, and what the admin types reaches the type."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.webui.conftest import LiveServer
from tests.webui.helpers import login_admin, server_get, session_token

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(acme_server: LiveServer) -> LiveServer:
    return acme_server


def test_a_plug_in_type_s_field_comes_from_its_description(
    page: Page, live_server: LiveServer
) -> None:
    login_admin(page)
    page.goto("/#/tokens/new?type=acme")
    expect(page.get_by_label("Token type")).to_have_value("acme")
    expect(page.get_by_label("Token type").locator("xpath=..")).to_contain_text("Acme key fob")
    label = page.get_by_label("Device label")
    expect(label).to_be_visible()
    expect(page.locator(".field[data-param=device_label] .help")).to_contain_text(
        "The label printed on the key fob."
    )
    label.fill("fob #17")
    page.get_by_label("Description").fill("a key fob")
    page.get_by_role("button", name="Enrol").click()
    serial = page.get_by_test_id("enrolled-serial").inner_text()
    assert serial.startswith("ACME")

    reply = server_get(
        f"{live_server.url}/token/",
        params={"serial": serial},
        headers={"Authorization": session_token(page)},
    )
    token = reply.json()["result"]["value"]["tokens"][0]
    assert token["tokentype"] == "acme"
    assert token["info"]["device_label"] == "fob #17"
    assert token["description"] == "a key fob"
    # Another type does not show the plug-in's field.
    page.goto("/#/tokens/new?type=hotp")
    expect(page.get_by_label("Token type")).to_have_value("hotp")
    expect(page.get_by_label("Device label")).to_have_count(0)
