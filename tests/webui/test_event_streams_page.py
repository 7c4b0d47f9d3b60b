"""The event streams page (Chromium): create a Redis stream with a secret and a filter,
see it listed, a bad value lands at its field, edit keeps the censored secret, the
export holds no secret and importing it again changes nothing; delete."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from factorflow.events.streams.models import EventStream
from factorflow.events.streams.service import stored_options
from tests.webui.conftest import LiveServer, shot
from tests.webui.helpers import login_admin, nav

pytestmark = pytest.mark.browser


def card(page: Page, title: str) -> Locator:
    return page.locator("section.card").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )


def test_streams_page_create_edit_export_import_delete(page: Page, live_server: LiveServer) -> None:
    login_admin(page)
    nav(page, "Event streams")
    expect(page.get_by_text("No event streams yet.")).to_be_visible()
    form = card(page, "Add an event stream")
    form.get_by_label("Identifier").fill("siem")
    form.get_by_label("Broker").select_option("redis")
    form.get_by_label("url", exact=True).fill("redis://127.0.0.1:6379/0")
    form.get_by_label("stream_key").fill("ff-webui")
    form.get_by_label("password").fill("s3cret")
    form.get_by_label("Events").fill("validate_check")
    form.get_by_label("Conditions").fill(json.dumps({"result_value": "False"}))
    form.get_by_role("button", name="Save event stream").click()
    row = page.get_by_role("row").filter(has_text="siem")
    expect(row).to_contain_text("redis")
    expect(row).to_contain_text("validate_check")
    expect(row).to_contain_text('{"result_value":"False"}')
    shot(page, "event-streams")

    # Bad input lands next to its field and changes nothing.
    form = card(page, "Add an event stream")
    form.get_by_label("Identifier").fill("bad")
    form.get_by_label("Broker").select_option("redis")
    form.get_by_label("url", exact=True).fill("http://127.0.0.1")
    form.get_by_label("stream_key").fill("k")
    form.get_by_role("button", name="Save event stream").click()
    expect(form.locator(".field[data-param=url] .field-error")).to_be_visible()

    # Editing keeps the stored secret (it reads back censored).
    row.get_by_role("button", name="Edit siem").click()
    edit = card(page, "Edit siem")
    edit.get_by_label("Description").fill("SIEM")
    edit.get_by_role("button", name="Save event stream").click()
    expect(page.get_by_role("row").filter(has_text="siem")).to_contain_text("SIEM")
    with live_server.services.sessions() as session:
        assert [r.identifier for r in session.scalars(select(EventStream))] == ["siem"]
        options = stored_options(session, live_server.services.box, "siem")
        assert options is not None and options.password == "s3cret"

    # The export holds no secret; importing it again changes nothing.
    area = page.get_by_label("Streams (YAML)")
    expect(area).to_have_value(re.compile(r"identifier: siem"))
    assert "s3cret" not in area.input_value() and "__CENSORED__" in area.input_value()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Imported: 0 created, 0 updated, 1 unchanged.")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row").filter(has_text="siem").get_by_role(
        "button", name="Delete siem"
    ).click()
    expect(page.get_by_text("No event streams yet.")).to_be_visible()
