"""The privacyIDEA servers page: add a remote server, test it against a real second
Factorflow, see bad input next to its field, and a refused delete while a Federation
definition uses the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.federation.remote import REMOTE_REALM, RemoteFactorflow, running_remote
from tests.webui.conftest import LiveServer, shot
from tests.webui.helpers import login_admin, nav

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteFactorflow]:
    with running_remote(Path(tmp_path_factory.mktemp("remote"))) as server:
        yield server


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

    # The definition editor offers the configured server in a dropdown.
    nav(page, "Event definitions")
    page.get_by_role("link", name="New definition").click()
    page.get_by_label("Name", exact=True).fill("ask the child")
    page.get_by_role("checkbox", name="validate_check", exact=True).check()
    page.get_by_label("Handler module").select_option("Federation")
    page.get_by_label("Action", exact=True).select_option("forward")
    server = page.get_by_label("privacyIDEA server", exact=True)
    expect(server.locator("option")).to_have_text(["child"])
    server.select_option("child")
    page.get_by_role("button", name="Create definition").click()
    expect(page.get_by_role("heading", name="Definition ask the child")).to_be_visible()

    # While a Federation definition forwards to it, the server stays.
    nav(page, "privacyIDEA servers")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete child").click()
    expect(page.locator("#toast")).to_contain_text("ask the child")
    expect(page.get_by_role("row").filter(has_text="child")).to_have_count(1)
