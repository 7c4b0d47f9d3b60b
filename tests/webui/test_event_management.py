"""Managing definitions from the list: filter, sort, enable / disable, ordering; the
history with its diff, and a rollback."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD
from tests.webui.conftest import LiveServer, shot
from tests.webui.helpers import login_admin, nav, server_get, server_post

pytestmark = pytest.mark.browser


def save(url: str, headers: dict[str, str], **params: str) -> int:
    r = server_post(f"{url}/event", data=params, headers=headers)
    assert r.status_code == 200, r.text
    value: int = r.json()["result"]["value"]
    return value


def test_list_history_diff_and_rollback(page: Page, live_server: LiveServer) -> None:
    url = live_server.url
    auth = server_post(f"{url}/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    headers = {"Authorization": auth.json()["result"]["value"]["token"]}
    base = {"event": "validate_check", "handlermodule": "Token", "position": "post"}
    first = save(
        url,
        headers,
        name="note-failure",
        action="set tokeninfo",
        ordering="5",
        conditions=json.dumps({"result_value": "False"}),
        **{"option.key": "last_failure", "option.value": "{now}"},
        **base,
    )
    save(
        url,
        headers,
        name="count-auth",
        action="increase tokeninfo",
        ordering="1",
        **{"option.key": "checks"},
        **base,
    )
    save(
        url,
        headers,
        id=str(first),
        **{"option.key": "last_failure", "option.value": "failed at {now}"},
    )

    login_admin(page)
    nav(page, "Event definitions")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("count-auth")  # ordering 1 before 5
    page.get_by_role("button", name="Name").click()
    expect(rows.first).to_contain_text("count-auth")
    page.get_by_role("button", name="Name").click()
    expect(rows.first).to_contain_text("note-failure")
    page.get_by_label("Filter").fill("increase")
    expect(rows).to_have_count(1)
    page.get_by_label("Filter").fill("")

    page.get_by_role("button", name="note-failure active").click()
    expect(page.get_by_role("button", name="note-failure active")).to_have_text("inactive")
    page.get_by_label("Active", exact=True).select_option("false")
    expect(rows).to_have_count(1)
    page.get_by_label("Active", exact=True).select_option("")
    ordering = page.get_by_label("Ordering of note-failure")
    ordering.fill("0")
    ordering.press("Tab")
    expect(page.locator("#toast")).to_contain_text("Ordering of note-failure saved")
    expect(rows.first).to_contain_text("note-failure")  # listed by ordering again
    page.get_by_role("button", name="Ordering", exact=True).click()
    expect(rows.first).to_contain_text("count-auth")

    page.get_by_role("row").filter(has_text="note-failure").get_by_role(
        "link", name="History"
    ).click()
    expect(page.get_by_role("heading", name="History of note-failure")).to_be_visible()
    diff = page.locator("#history-diff")
    # The newest change (the ordering) against the one before.
    expect(diff).to_contain_text("ordering")
    page.get_by_role("button", name="Diff 2").click()
    expect(diff.get_by_role("row").filter(has_text="option.value")).to_contain_text(
        "failed at {now}"
    )
    shot(page, "event-history")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Roll back to 1").click()
    expect(page.locator("#toast")).to_contain_text("Rolled back to version 1")
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Value", exact=True)).to_have_value("{now}")
    expect(page.get_by_label("Active", exact=True)).to_be_checked()


def test_export_shows_yaml_and_reimport_changes_nothing(
    page: Page, live_server: LiveServer
) -> None:
    url = live_server.url
    auth = server_post(f"{url}/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    headers = {"Authorization": auth.json()["result"]["value"]["token"]}
    save(
        url,
        headers,
        name="ship-later",
        event="token_init",
        handlermodule="Token",
        position="post",
        action="set description",
        **{"option.description": "ship {now}+7d"},
    )
    login_admin(page)
    page.goto(f"{url}/#/events/transfer")
    area = page.get_by_label("Definitions (YAML)")
    expect(area).to_have_value(re.compile(r"name: ship-later"))
    assert "handlermodule: Token" in area.input_value()
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Imported: 0 created, 0 updated, 1 unchanged.")).to_be_visible()
    listed = server_get(f"{url}/event/", headers=headers).json()["result"]["value"]
    assert [d["name"] for d in listed] == ["ship-later"]


def test_secret_options_are_password_fields_that_keep_the_stored_secret(
    page: Page, live_server: LiveServer
) -> None:
    from factorflow.events.models import EventDefinition
    from tests.events.test_webhook import SECRET

    url = live_server.url
    auth = server_post(f"{url}/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    headers = {"Authorization": auth.json()["result"]["value"]["token"]}
    definition_id = save(
        url,
        headers,
        name="hook",
        event="token_init",
        handlermodule="WebHook",
        action="post_webhook",
        **{
            "option.URL": "http://127.0.0.1:9/hook",
            "option.secret": SECRET,
            "option.headers": json.dumps({"Authorization": "Bearer tok-1"}),
        },
    )
    login_admin(page)
    page.goto(f"{url}/#/events/{definition_id}")
    secret = page.get_by_label("Signing secret", exact=True)
    expect(secret).to_have_attribute("type", "password")
    expect(secret).to_have_value("__CENSORED__")
    expect(page.get_by_label("Headers", exact=True)).to_have_value("__CENSORED__")
    assert SECRET not in page.content() and "tok-1" not in page.content()
    secret.scroll_into_view_if_needed()
    shot(page, "event-secret-options")
    # The Test panel tries the form as it is: the placeholders stand for the stored secrets.
    panel = page.locator("#test-panel")
    panel.get_by_role("button", name="Run test").click()
    result = panel.locator("article.dry-run")
    expect(result).to_contain_text("would fire")
    expect(result).to_contain_text("secret=***")
    assert SECRET not in page.content()
    page.get_by_label("Receiver URL", exact=True).fill("http://127.0.0.1:9/new")
    page.get_by_role("button", name="Save definition").click()
    expect(page.locator("#toast")).to_contain_text("Definition hook saved")
    services = live_server.services
    with services.sessions() as session:
        row = session.get(EventDefinition, definition_id)
        assert row is not None
        options = services.events.compile(row).options
        assert options.URL == "http://127.0.0.1:9/new"  # type: ignore[attr-defined]
        assert options.secret == SECRET  # type: ignore[attr-defined]
        assert options.headers == json.dumps({"Authorization": "Bearer tok-1"})  # type: ignore[attr-defined]
