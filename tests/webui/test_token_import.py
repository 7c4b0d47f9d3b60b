"""The token page's import form: a good OATH CSV file is imported into a realm and its
tokens validate; a bad one shows its rejected lines and imports nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.webui.conftest import LiveServer
from tests.webui.helpers import login_admin, server_get, server_post
from tests.webui.test_self_service import setup_realm

KEY_HEX = "3132333435363738393031323334353637383930"


@pytest.mark.browser
def test_import_form(
    page: Page, live_server: LiveServer, passwd_file: Path, tmp_path: Path
) -> None:
    admin = setup_realm(live_server.url, passwd_file)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"UI1, {KEY_HEX}\nUI2, nothex\n")
    good = tmp_path / "good.csv"
    good.write_text(f"UI1, {KEY_HEX}\nUI2, {KEY_HEX}, totp\n")
    login_admin(page)
    page.goto(f"{live_server.url}/#/tokens")
    page.get_by_role("link", name="Import tokens").click()
    form = page.get_by_role("form", name="Import tokens")
    form.get_by_label("Seed file").set_input_files(str(bad))
    form.get_by_label("Token realms").fill("realm1")
    form.get_by_role("button", name="Import").click()
    expect(form.get_by_role("alert").first).to_contain_text("line 2: the key is not hexadecimal")
    expect(page.get_by_role("table")).to_contain_text("line 2")
    listing = server_get(f"{live_server.url}/token/", headers=admin).json()["result"]["value"]
    assert listing["count"] == 0

    form.get_by_label("Seed file").set_input_files(str(good))
    form.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Imported 2 token(s) from good.csv.")).to_be_visible()
    check = server_post(
        f"{live_server.url}/validate/check", data={"serial": "UI1", "pass": "755224"}
    )
    assert check.json()["result"]["value"] is True
    page.get_by_role("link", name="Show the tokens").click()
    expect(page.get_by_role("link", name="UI2")).to_be_visible()
