"""SMTP servers and SMS gateways (create, test send against real local receivers),
token groups, and the job queue page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.notify.servers import Recorder, SmsGatewayServer, SmtpServer
from tests.webui.conftest import shot
from tests.webui.helpers import login_admin, nav

pytestmark = pytest.mark.browser


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def smtp_server(recorder: Recorder) -> Iterator[SmtpServer]:
    server = SmtpServer(recorder)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sms_gateway() -> Iterator[SmsGatewayServer]:
    gateway = SmsGatewayServer()
    gateway.start()
    yield gateway
    gateway.stop()


def card(page: Page, title: str) -> Locator:
    return page.locator("section.card").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )


def test_smtp_server_create_and_test_send(
    page: Page, smtp_server: SmtpServer, recorder: Recorder
) -> None:
    login_admin(page)
    nav(page, "SMTP servers")
    form = card(page, "Add an SMTP server")
    form.get_by_label("Identifier").fill("mail1")
    form.get_by_label("Server", exact=True).fill("127.0.0.1")
    form.get_by_label("Port").fill(str(smtp_server.port))
    form.get_by_label("Sender address").fill("factorflow@example.org")
    form.get_by_label("Test recipient").fill("helpdesk@example.org")
    form.get_by_role("button", name="Send a test email").click()
    expect(form.locator(".test-result")).to_contain_text("✔")
    assert recorder.messages and recorder.messages[0].rcpt_tos == ["helpdesk@example.org"]
    form.get_by_role("button", name="Save SMTP server").click()
    expect(page.get_by_role("row").filter(has_text="mail1")).to_contain_text(
        f"127.0.0.1:{smtp_server.port}"
    )
    # Bad input lands next to its field.
    form = card(page, "Add an SMTP server")
    form.get_by_label("Identifier").fill("mail2")
    form.get_by_label("Server", exact=True).fill("127.0.0.1")
    form.get_by_label("Port").fill("99999")
    form.get_by_label("Sender address").fill("factorflow@example.org")
    form.get_by_role("button", name="Save SMTP server").click()
    expect(form.locator(".field[data-param=port] .field-error")).to_be_visible()
    shot(page, "smtp-servers")


def test_sms_gateway_create_and_test_send(page: Page, sms_gateway: SmsGatewayServer) -> None:
    login_admin(page)
    nav(page, "SMS gateways")
    form = card(page, "Add an SMS gateway")
    form.get_by_label("Name").fill("gw1")
    form.get_by_label("Options").fill(
        f"URL={sms_gateway.url}\nHTTP_METHOD=POST\nto={{phone}}\ntext={{otp}}\nRETURN_SUCCESS=OK"
    )
    form.get_by_role("button", name="Save SMS gateway").click()
    row = page.get_by_role("row").filter(has_text="gw1")
    expect(row).to_contain_text(sms_gateway.url)
    row.get_by_role("button", name="Edit gw1").click()
    edit = card(page, "Edit gw1")
    edit.get_by_label("Test phone number").fill("+4917111")
    edit.get_by_role("button", name="Send a test SMS").click()
    expect(edit.locator(".test-result")).to_contain_text("✔")
    assert sms_gateway.requests and sms_gateway.requests[0].form["to"] == "+4917111"
    shot(page, "sms-gateways")


def test_token_groups_and_jobs_pages(page: Page) -> None:
    login_admin(page)
    nav(page, "Token groups")
    form = card(page, "Create or update a group")
    form.get_by_label("Name").fill("staff")
    form.get_by_label("Description").fill("Staff tokens")
    form.get_by_role("button", name="Save group").click()
    expect(page.get_by_role("row").filter(has_text="staff")).to_contain_text("Staff tokens")
    nav(page, "Jobs")
    expect(page.get_by_text("No jobs in this state.")).to_be_visible()
    page.get_by_label("State").select_option("all")
    expect(page).to_have_url(re.compile(r"#/jobs\?state=all$"))
    expect(page.get_by_label("State")).to_have_value("all")
