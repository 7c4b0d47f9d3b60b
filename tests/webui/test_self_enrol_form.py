"""The self-service enrolment form is generated from ``GET /token/types/`` as the user
reads it: it offers the types the user policies let the user enrol, each with the
parameters its description lists (an option of the model, or of a token type installed
as a plug-in, appears with no JavaScript change), and what the user fills in reaches
the enrolment."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import USER_PASSWORDS
from tests.webui.conftest import LiveServer
from tests.webui.helpers import login, server_get, server_post, totp
from tests.webui.test_generated_forms import api_get
from tests.webui.test_self_service import setup_realm

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(acme_server: LiveServer) -> LiveServer:
    """With the self-service type ``acme`` installed as a plug-in."""
    return acme_server


def user_types(live_server: LiveServer, page: Page) -> dict[str, dict[str, object]]:
    """``GET /token/types/`` with the logged-in user's JWT."""
    types = api_get(live_server, page, "/token/types/")
    assert isinstance(types, dict)
    return types


def test_a_user_enrols_a_totp_token_with_parameters_from_its_description(
    page: Page, live_server: LiveServer, passwd_file: Path
) -> None:
    setup_realm(live_server.url, passwd_file)
    login(page, "alice", USER_PASSWORDS["alice"], realm="realm1")
    types = user_types(live_server, page)
    assert set(types) == {
        "hotp", "totp", "acme", "certificate", "passkey", "push", "webauthn", "yubico",
    }  # fmt: skip
    kind = page.get_by_label("Kind")
    expect(kind.locator("option")).to_have_text([str(t["description"]) for t in types.values()])
    expect(kind).to_have_value("totp")
    fields = page.get_by_test_id("type-fields")
    options = types["totp"]["options"]
    assert isinstance(options, dict) and "timeStep" in options
    expect(fields.locator(".field")).to_have_count(len(options))
    for name in options:
        expect(fields.locator(f".field[data-param='{name}']")).to_have_count(1)

    # Parameters the hand-typed form never offered: a 60-second step and 8 digits.
    page.get_by_label("Time step (seconds)").select_option("60")
    page.get_by_label("OTP length").select_option("8")
    page.get_by_label("Description").fill("phone app")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("img", name="QR code to scan")).to_be_visible()
    secret = page.get_by_test_id("otp-secret").get_attribute("data-secret") or ""
    serial = page.get_by_test_id("enrolled-serial").inner_text()
    assert serial.startswith("TOTP")
    reply = server_post(
        f"{live_server.url}/validate/check",
        data={"user": "alice", "realm": "realm1", "pass": totp(secret, step=60, digits=8)},
    ).json()
    assert reply["result"]["value"] is True, reply
    page.get_by_role("button", name="Done — show my tokens").click()
    expect(page.get_by_role("row").filter(has_text=serial)).to_contain_text("phone app")


def test_the_form_offers_what_the_user_policies_allow_and_a_plug_in_s_field(
    page: Page, live_server: LiveServer, passwd_file: Path
) -> None:
    admin = setup_realm(live_server.url, passwd_file)
    policy = {"scope": "user", "action": "enrollTOTP, enrollACME", "realm": "realm1"}
    r = server_post(f"{live_server.url}/policy/self-enrol", data=policy, headers=admin)
    assert r.status_code == 200, r.text
    login(page, "alice", USER_PASSWORDS["alice"], realm="realm1")
    assert set(user_types(live_server, page)) == {"totp", "acme"}
    kind = page.get_by_label("Kind")
    expect(kind.locator("option")).to_have_count(2)
    expect(kind.locator("option[value=hotp]")).to_have_count(0)
    expect(page.get_by_label("Device label")).to_have_count(0)

    kind.select_option("acme")
    label = page.get_by_label("Device label")
    expect(label).to_be_visible()
    expect(page.locator(".field[data-param=device_label] .help")).to_contain_text(
        "The label printed on the key fob."
    )
    label.fill("fob #4711")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("img", name="QR code to scan")).to_be_visible()
    serial = page.get_by_test_id("enrolled-serial").inner_text()
    assert serial.startswith("ACME")
    listing = server_get(f"{live_server.url}/token/", params={"serial": serial}, headers=admin)
    token = listing.json()["result"]["value"]["tokens"][0]
    assert token["tokentype"] == "acme" and token["username"] == "alice"
    assert token["info"]["device_label"] == "fob #4711"

    # A user whose policies grant no enrolment is told so instead of getting a form.
    policy["action"] = "disable, delete"
    r = server_post(f"{live_server.url}/policy/self-enrol", data=policy, headers=admin)
    assert r.status_code == 200, r.text
    page.reload()
    expect(page.get_by_text("Your policies do not let you enrol any token type.")).to_be_visible()
    expect(page.get_by_role("button", name="Enrol")).to_have_count(0)
