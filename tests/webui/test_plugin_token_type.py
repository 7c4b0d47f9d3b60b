"""A token type installed as a plug-in (an entry point, no JavaScript): its enrolment
field appears on the enrolment page, because the page is generated from the type's
served description, and what the admin types reaches the type."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from factorflow.bootstrap import Services, build_services
from factorflow.settings import Settings
from tests.webui.conftest import LiveServer, serving
from tests.webui.helpers import login_admin, session_token

pytestmark = pytest.mark.browser

PLUGIN = '''"""Acme key fob: an HOTP token with a label printed on the device."""

from pydantic import Field

from factorflow.tokens.oath import OathInitParams
from factorflow.tokens.types.hotp import HotpToken


class AcmeInitParams(OathInitParams):
    device_label: str = Field(
        default="", max_length=64, title="Device label",
        description="The label printed on the key fob.",
    )


class AcmeToken(HotpToken):
    type_name = "acme"
    serial_prefix = "ACME"
    InitParams = AcmeInitParams

    def enroll(self, params, ctx):
        detail = super().enroll(params, ctx)
        self.set_info("device_label", params.device_label)
        return detail
'''


@pytest.fixture
def live_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings, services: Services
) -> Iterator[LiveServer]:
    """The application with the ``acme`` token type installed as a distribution."""
    site = tmp_path / "site"
    dist = site / "acme_fob-0.1.dist-info"
    dist.mkdir(parents=True)
    (site / "acme_fob.py").write_text(PLUGIN)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme_fob\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[factorflow.token_types]\nacme = acme_fob:AcmeToken\n")
    monkeypatch.syspath_prepend(str(site))
    built = build_services(settings, migrate=False)
    try:
        assert "acme" in built.token_types
        with serving(built) as server:
            yield server
    finally:
        built.close()


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

    reply = httpx.get(
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
