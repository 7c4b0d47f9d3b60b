"""The privacyIDEA servers page: add a remote server, test it against a real second
Factorflow, see bad input next to its field, and a refused delete while a Federation
definition uses the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.federation.remote import REMOTE_REALM, RemoteFactorflow
from tests.webui.conftest import LiveServer, shot
from tests.webui.helpers import login_admin, nav, session_token

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteFactorflow]:
    server = RemoteFactorflow(Path(tmp_path_factory.mktemp("remote")))
    try:
        server.start()
        server.provision()
        yield server
    finally:
        server.stop()


def card(page: Page, title: str) -> Locator:
    return page.locator("section.card").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )


def test_add_test_and_delete_a_remote_server(
    page: Page, live_server: LiveServer, remote: RemoteFactorflow
) -> None:
    remote.enrol_hotp("dave")
    login_admin(page)
    nav(page, "privacyIDEA servers")
    expect(page.get_by_text("No privacyIDEA servers yet.")).to_be_visible()
    form = card(page, "Add a privacyIDEA server")
    form.get_by_label("Identifier").fill("child")
    form.get_by_label("URL").fill(remote.url)
    expect(form.get_by_label("Verify TLS certificate")).to_be_checked()
    form.get_by_label("Test user").fill("dave")
    form.get_by_label("Test realm").fill(REMOTE_REALM)
    form.get_by_label("Test password").fill(remote.next_otp("dave"))
    form.get_by_role("button", name="Send a test request").click()
    expect(form.locator(".test-result")).to_contain_text("✔")
    form.get_by_label("Test password").fill("000000")
    form.get_by_role("button", name="Send a test request").click()
    expect(form.locator(".test-result")).to_contain_text("✘")
    form.get_by_role("button", name="Save privacyIDEA server").click()
    row = page.get_by_role("row").filter(has_text="child")
    expect(row).to_contain_text(remote.url)
    expect(row).to_contain_text("yes")

    # Bad input lands next to its field; nothing is added.
    form = card(page, "Add a privacyIDEA server")
    form.get_by_label("Identifier").fill("child2")
    form.get_by_label("URL").fill("ftp://files.example.org")
    form.get_by_role("button", name="Save privacyIDEA server").click()
    expect(form.locator(".field[data-param=url] .field-error")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="child2")).to_have_count(0)
    shot(page, "privacyidea-servers")

    # While a Federation definition forwards to it, the server stays.
    response = httpx.post(
        f"{live_server.url}/event",
        data={"name": "ask the child", "event": "validate_check", "handlermodule": "Federation",
              "action": "forward", "position": "post", "option.privacyIDEA": "child"},
        headers={"Authorization": session_token(page)},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete child").click()
    expect(page.locator("#toast")).to_contain_text("ask the child")
    expect(page.get_by_role("row").filter(has_text="child")).to_have_count(1)
