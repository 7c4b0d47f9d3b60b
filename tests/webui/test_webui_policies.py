"""The ``webui`` policy scope in the browser (issue 22 item 3): buttons the admin has no
right for are disabled, or hidden with ``hide_buttons``; ``logout_time`` with
``timeout_action`` locks or ends an idle session; ``realm_dropdown`` on the login
form; ``tokenwizard`` for a first-time user; ``default_tokentype``; ``hide_welcome``."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from factorflow.db.base import transaction
from tests import factories
from tests.conftest import ADMIN_NAME, ADMIN_PASSWORD, USER_PASSWORDS
from tests.webui.conftest import LiveServer
from tests.webui.helpers import REQUEST_TIMEOUT, login, login_admin

pytestmark = pytest.mark.browser


def _client(live_server: LiveServer) -> httpx.Client:
    client = httpx.Client(base_url=live_server.url, timeout=REQUEST_TIMEOUT)
    answer = client.post("/auth", data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD})
    client.headers["Authorization"] = answer.json()["result"]["value"]["token"]
    return client


def _policy(live_server: LiveServer, name: str, **params: Any) -> None:
    """Saved through the policy use case: a restricting admin policy would take the
    API's policy right away from the admin who sets it."""
    services = live_server.services
    # A writer's unit of work, as the server's own: SQLite's lock is taken first.
    with transaction(services.sessions, write=True) as session:
        services.policies.save(session, name, params)


def _realm_with_token(live_server: LiveServer, passwd_file: Path) -> str:
    with closing(_client(live_server)) as client:
        factories.flatfile_realm(client, dict(client.headers), passwd_file, "realm1", "resolver1")  # type: ignore[arg-type]
        answer = client.post("/token/init", data={"type": "hotp", "genkey": "1",
                                                  "user": "alice", "realm": "realm1"})  # fmt: skip
        return str(answer.json()["detail"]["serial"])


def test_buttons_without_a_right_are_disabled_or_hidden(
    page: Page, live_server: LiveServer, passwd_file: Path
) -> None:
    serial = _realm_with_token(live_server, passwd_file)
    _policy(live_server, "helpdesk", scope="admin", adminuser=ADMIN_NAME, realm="realm1",
            action="tokenlist, enable, disable")  # fmt: skip
    login_admin(page)
    page.goto(f"/#/tokens/{serial}")
    actions = page.get_by_role("group", name="Token actions")
    expect(actions.get_by_role("button", name="Disable")).to_be_enabled()
    delete = actions.get_by_role("button", name="Delete")
    expect(delete).to_be_disabled()
    expect(delete).to_have_attribute("title", "Your policies do not grant delete.")
    page.get_by_role("button", name="Log out").click()

    _policy(live_server, "tidy", scope="webui", adminuser=ADMIN_NAME, action="hide_buttons")
    login_admin(page)
    page.goto(f"/#/tokens/{serial}")
    actions = page.get_by_role("group", name="Token actions")
    expect(actions.get_by_role("button", name="Disable")).to_be_visible()
    expect(actions.get_by_role("button", name="Delete")).to_have_count(0)
    expect(actions.get_by_role("button", name="Revoke")).to_have_count(0)


def test_an_idle_session_is_locked_then_unlocked_with_the_password(
    page: Page, live_server: LiveServer
) -> None:
    _policy(live_server, "short", scope="webui", action="logout_time=30")
    page.clock.install()
    login_admin(page)
    page.clock.fast_forward("00:40")
    lock = page.get_by_role("dialog", name="Locked")
    expect(lock).to_be_visible()
    lock.get_by_label("Password").fill("wrong-password")
    lock.get_by_role("button", name="Unlock").click()
    expect(lock.get_by_role("alert")).to_be_visible()
    lock.get_by_label("Password").fill(ADMIN_PASSWORD)
    lock.get_by_role("button", name="Unlock").click()
    expect(lock).to_be_hidden()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_an_idle_session_is_logged_out_with_timeout_action_logout(
    page: Page, live_server: LiveServer
) -> None:
    _policy(live_server, "short", scope="webui", action="logout_time=30, timeout_action=logout")
    page.clock.install()
    login_admin(page)
    page.clock.fast_forward("00:40")
    expect(page.get_by_role("heading", name="Log in to Factorflow")).to_be_visible()
    expect(page.locator("#login-message")).to_contain_text("30 seconds without activity")


def test_login_realms_wizard_default_type_and_welcome(
    page: Page, live_server: LiveServer, passwd_file: Path
) -> None:
    with closing(_client(live_server)) as client:
        factories.flatfile_realm(client, dict(client.headers), passwd_file, "realm1", "resolver1")  # type: ignore[arg-type]
    login_admin(page)
    expect(page.get_by_role("note", name="Welcome")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    _policy(live_server, "login-form", scope="webui", action="realm_dropdown=realm1")
    _policy(live_server, "first-token", scope="webui", realm="realm1",
            action="tokenwizard, default_tokentype=totp")  # fmt: skip
    _policy(live_server, "admin-ui", scope="webui", adminuser=ADMIN_NAME,
            action="hide_welcome, default_tokentype=spass")  # fmt: skip
    page.goto("/#/login")
    realm = page.get_by_label("Realm")
    expect(realm.locator("option[value=realm1]")).to_have_count(1)
    login(page, "alice", USER_PASSWORDS["alice"], realm="")
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill(USER_PASSWORDS["alice"])
    page.get_by_label("Realm").select_option("realm1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Set up your token")).to_be_visible()
    expect(page.get_by_label("Kind")).to_have_value("totp")
    page.get_by_role("button", name="Log out").click()

    login_admin(page)
    expect(page.get_by_role("note", name="Welcome")).to_have_count(0)
    page.goto("/#/tokens/new")
    expect(page.get_by_label("Token type")).to_have_value("spass")
