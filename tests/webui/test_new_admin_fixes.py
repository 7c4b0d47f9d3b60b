"""What a new administrator tripped over (issue 22, item 6), tried in the browser: human
labels with the identifier as a hint, options shown unless they are secrets, the Test
panel saying which token it looked at and replaying an audited answer's message, the
dashboard's lists, and a definitions table whose Delete buttons stay on one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.webui.conftest import LiveServer
from tests.webui.helpers import login_admin, server_post

pytestmark = pytest.mark.browser


def _admin_headers(live_server: LiveServer) -> dict[str, str]:
    from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD

    answer = server_post(f"{live_server.url}/auth",
                         data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})  # fmt: skip
    return {"Authorization": answer.json()["result"]["value"]["token"]}


def test_option_labels_are_words_with_the_identifier_as_hint(page: Page) -> None:
    login_admin(page)
    page.goto("/#/events/new")
    page.get_by_label("Handler module").select_option("UserNotification")
    flood = page.get_by_label("Flood limit", exact=True)
    expect(flood).to_be_visible()
    expect(page.locator(".field").filter(has=flood)).to_contain_text("flood_limit")
    # Only the recipient field the chosen recipient type needs is shown.
    expect(page.get_by_label("Address attribute of the token owner")).to_be_visible()
    expect(page.get_by_label("Email addresses")).to_be_hidden()
    page.get_by_label("Recipient", exact=True).select_option("email")
    expect(page.get_by_label("Email addresses")).to_be_visible()
    expect(page.get_by_label("Address attribute of the token owner")).to_be_hidden()
    # Conditions read as words too, their names beside them.
    picker = page.get_by_label("Add a condition")
    expect(picker.locator('option[value="count_auth_success"]')).to_have_text(
        "Successful authentications (count_auth_success)"
    )
    picker.select_option("count_auth_success")
    page.get_by_role("button", name="Add condition").click()
    row = page.locator('.condition-row[data-name="count_auth_success"]')
    expect(row.locator("strong")).to_have_text("Successful authentications")
    expect(row.locator("code")).to_have_text("count_auth_success")


def test_test_panel_names_the_token_and_replays_the_message(
    page: Page, live_server: LiveServer, passwd_file: Path
) -> None:
    url, headers = live_server.url, _admin_headers(live_server)
    with httpx_client(url) as client:
        factories.flatfile_realm(client, headers, passwd_file, "realm1", "resolver1")
        factories.enrol(client, headers, "hotp", serial="HOTPUI1", otpkey="3132" * 10,
                        user="alice", realm="realm1", pin="1234")  # fmt: skip
        client.post("/validate/check", data={"user": "alice", "realm": "realm1",
                                             "pass": "1234000000"})  # fmt: skip
        audit = client.get("/audit/", params={"action": "*/validate/check"}, headers=headers)
        number = audit.json()["result"]["value"]["auditdata"][0]["number"]
        factories.add_smtp_server(client, headers, "mail", 2525)  # never reached: a dry run
        factories.define(client, headers, name="mail the owner", event="validate_check",
                         handlermodule="UserNotification", action="sendmail",
                         options={"emailconfig": "mail", "To": "tokenowner",
                                  "To tokenowner": "email"},
                         conditions={"detail_message": "wrong otp value"})  # fmt: skip
    login_admin(page)
    page.goto("/#/events")
    page.get_by_role("link", name="mail the owner").click()
    panel = page.locator("#test-panel")
    panel.get_by_label("Or: audit entry number").fill(str(number))
    panel.get_by_role("button", name="Run test").click()
    result = panel.locator("article.dry-run")
    expect(result).to_contain_text("would fire")
    expect(result).to_contain_text("HOTPUI1")
    expect(result).to_contain_text("the token the request named")
    expect(result).to_contain_text("alice@realm1")
    # To tokenowner is no secret: shown as it is.
    expect(result).to_contain_text("To=tokenowner")
    expect(result).not_to_contain_text("***")


def test_dashboard_lists_whom_a_failure_was_for_and_only_failing_definitions(
    page: Page, live_server: LiveServer, passwd_file: Path
) -> None:
    url, headers = live_server.url, _admin_headers(live_server)
    with httpx_client(url) as client:
        factories.flatfile_realm(client, headers, passwd_file, "realm1", "resolver1")
        assert (
            client.post("/validate/check", data={"user": "nosuch", "pass": "x"}).status_code == 400
        )
        refused = factories.save_definition(client, headers, name="broken", event="no_such_event",
                                            handlermodule="Counter", action="increase_counter",
                                            options={"counter_name": "c"})  # fmt: skip
        assert refused.status_code == 400
    login_admin(page)
    failed = page.locator("section").filter(
        has=page.get_by_role("heading", name="Recent failed authentications")
    )
    expect(failed.get_by_role("cell", name="nosuch@realm1", exact=True)).to_be_visible()
    failing = page.locator("section").filter(
        has=page.get_by_role("heading", name="Failing event definitions")
    )
    expect(failing).to_contain_text("No definition has failed recently.")


def test_the_definitions_table_keeps_its_tools_on_one_line(
    page: Page, live_server: LiveServer
) -> None:
    headers = _admin_headers(live_server)
    with httpx_client(live_server.url) as client:
        factories.define(client, headers, name="a definition with a rather long name indeed",
                         event="token_init", handlermodule="Counter",
                         action="increase_counter", options={"counter_name": "c"})  # fmt: skip
    page.set_viewport_size({"width": 1024, "height": 800})
    login_admin(page)
    page.goto("/#/events")
    delete = page.get_by_role("button", name="Delete a definition with a rather long name indeed")
    expect(delete).to_have_text("Delete")
    history = page.get_by_role("row").filter(has=delete).get_by_role("link", name="History")
    delete_box, history_box = delete.bounding_box(), history.bounding_box()
    assert delete_box and history_box
    assert abs(delete_box["y"] - history_box["y"]) < 2, (delete_box, history_box)
    assert delete_box["height"] < 40, delete_box


def test_enrolment_asks_for_the_key_when_the_server_is_not_to_make_one(
    page: Page, live_server: LiveServer
) -> None:
    """Unchecking "Generate the key on the server" asks for the key: without one the
    form says so and enrols nothing; with one the token holds exactly that key."""
    headers = _admin_headers(live_server)
    login_admin(page)
    page.goto("/#/tokens/new")
    page.get_by_label("Token type").select_option("hotp")
    generate = page.get_by_label("Generate the key on the server")
    expect(generate).to_be_checked()
    expect(page.get_by_label("OTP key", exact=True)).to_be_hidden()
    generate.uncheck()
    key = page.get_by_label("OTP key", exact=True)
    expect(key).to_be_visible()
    page.get_by_role("button", name="Enrol").click()
    expect(page.locator(".field-error:visible")).to_contain_text("Enter the OTP key")
    with httpx_client(live_server.url) as client:
        assert client.get("/token/", headers=headers).json()["result"]["value"]["count"] == 0
    secret_hex = "3132333435363738393031323334353637383930"  # RFC 4226's key
    key.fill(secret_hex)
    page.get_by_role("button", name="Enrol").click()
    serial = page.get_by_test_id("enrolled-serial").inner_text()
    with httpx_client(live_server.url) as client:
        check = client.post("/validate/check", data={"serial": serial, "pass": "755224"})
    assert check.json()["result"]["value"] is True, check.text


def httpx_client(url: str):  # type: ignore[no-untyped-def]
    import httpx

    return httpx.Client(base_url=url, timeout=30.0)
