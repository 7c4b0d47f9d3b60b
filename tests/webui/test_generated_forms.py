"""The configuration and enrolment forms are generated from the served descriptions:
every LDAP option appears and is saved, a secret left untouched keeps its stored
value, and a token type's own fields follow the type chosen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.webui.conftest import LiveServer, shot
from tests.webui.helpers import login_admin, nav, server_get, session_token

pytestmark = pytest.mark.browser

CENSORED = "__CENSORED__"


def card(page: Page, title: str) -> Locator:
    return page.locator("section.card").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )


def api_get(live_server: LiveServer, page: Page, path: str) -> object:
    reply = server_get(f"{live_server.url}{path}", headers={"Authorization": session_token(page)})
    assert reply.status_code == 200, reply.text
    return reply.json()["result"]["value"]


def test_every_ldap_option_appears_saves_and_keeps_its_secret(
    page: Page, live_server: LiveServer
) -> None:
    login_admin(page)
    nav(page, "User stores")
    types = api_get(live_server, page, "/resolver/types/")
    assert isinstance(types, dict)
    described = types["ldapresolver"]["options"]
    assert len(described) == 24

    form = card(page, "Create a user store")
    form.get_by_label("Type", exact=True).select_option("ldapresolver")
    for name in described:
        expect(form.locator(f".field[data-param='{name}']")).to_have_count(1)
    expect(form.locator(".type-fields .field")).to_have_count(len(described))
    expect(form.get_by_label("Bind password")).to_have_attribute("type", "password")
    form.get_by_label("Name", exact=True).fill("directory")
    form.get_by_label("Server URI").fill("ldap://127.0.0.1:3899")
    form.get_by_label("Search base").fill("ou=people,dc=example,dc=org")
    form.get_by_label("Bind DN").fill("cn=reader,dc=example,dc=org")
    form.get_by_label("Bind password").fill("bind-secret-1")
    form.get_by_label("Login name attribute").fill("uid")
    # Options the hand-typed form never offered.
    form.get_by_label("Size limit").fill("42")
    form.get_by_label("Do not follow referrals").check()
    form.get_by_label("Cache timeout (seconds)").fill("0")
    form.get_by_role("button", name="Create user store").click()
    expect(page.get_by_role("cell", name="directory", exact=True)).to_be_visible()

    stored = api_get(live_server, page, "/resolver/directory")
    assert isinstance(stored, dict)
    data = stored["directory"]["data"]
    assert set(data) == set(described)
    assert data["SIZELIMIT"] == 42 and data["NOREFERRALS"] is True
    assert data["CACHE_TIMEOUT"] == 0 and data["BINDPW"] == CENSORED

    # Edit: the stored secret shows as the placeholder; left untouched it is kept.
    page.get_by_role("button", name="Edit directory").click()
    edit = card(page, "Edit directory")
    expect(edit.get_by_label("Type", exact=True)).to_be_disabled()
    expect(edit.get_by_label("Bind password")).to_have_value(CENSORED)
    expect(edit.get_by_label("Size limit")).to_have_value("42")
    edit.get_by_label("Size limit").fill("43")
    shot(page, "user-store-ldap")
    edit.get_by_role("button", name="Save user store").click()
    expect(page.get_by_role("row").filter(has_text="directory")).to_contain_text("SIZELIMIT=43")
    services = live_server.services
    with services.sessions() as session:
        row = services.users.resolvers.get(session, "directory")
        plain = services.users.resolvers.plaintext(row)
    assert plain["BINDPW"] == "bind-secret-1"
    assert plain["SIZELIMIT"] == 43


def test_an_untouched_smtp_password_is_kept_and_a_new_one_replaces_it(
    page: Page, live_server: LiveServer
) -> None:
    login_admin(page)
    nav(page, "SMTP servers")
    form = card(page, "Add an SMTP server")
    form.get_by_label("Identifier").fill("relay")
    form.get_by_label("Server", exact=True).fill("127.0.0.1")
    form.get_by_label("Sender address").fill("mfa@example.org")
    form.get_by_label("User", exact=True).fill("mfa")
    form.get_by_label("Password", exact=True).fill("smtp-secret-1")
    form.get_by_role("button", name="Save SMTP server").click()
    row = page.get_by_role("row").filter(has_text="relay")
    expect(row).to_be_visible()

    services = live_server.services
    row.get_by_role("button", name="Edit relay").click()
    edit = card(page, "Edit relay")
    password = edit.get_by_label("Password", exact=True)
    expect(password).to_have_attribute("type", "password")
    expect(password).to_have_value(CENSORED)
    edit.get_by_label("Port").fill("2525")
    edit.get_by_role("button", name="Save SMTP server").click()
    expect(page.get_by_role("row").filter(has_text="relay")).to_contain_text("127.0.0.1:2525")
    with services.sessions() as session:
        settings = services.notify.smtp_settings(session, "relay")
    assert (settings.password, settings.port) == ("smtp-secret-1", 2525)

    page.get_by_role("button", name="Edit relay").click()
    edit = card(page, "Edit relay")
    edit.get_by_label("Password", exact=True).fill("smtp-secret-2")
    # The toast of the previous save may still show: wait for this save's answer.
    with page.expect_response(
        lambda r: "/smtpserver/" in r.url and r.request.method == "POST"
    ) as saved:
        edit.get_by_role("button", name="Save SMTP server").click()
    assert saved.value.ok
    with services.sessions() as session:
        assert services.notify.smtp_settings(session, "relay").password == "smtp-secret-2"


def test_the_enrolment_form_shows_the_fields_of_the_chosen_type(
    page: Page, live_server: LiveServer
) -> None:
    login_admin(page)
    page.goto("/#/tokens/new")
    types = api_get(live_server, page, "/token/types/")
    assert isinstance(types, dict)
    fields = page.get_by_test_id("type-fields")
    type_select = page.get_by_label("Token type")
    expect(type_select.locator("option")).to_have_text(list(types))
    for kind in ("totp", "paper", "spass"):
        type_select.select_option(kind)
        names = list(types[kind]["options"])
        expect(fields.locator(".field")).to_have_count(len(names))
        for name in names:
            expect(fields.locator(f".field[data-param='{name}']")).to_have_count(1)
    type_select.select_option("totp")
    expect(page.get_by_label("Time step (seconds)")).to_have_value("30")
    expect(page.get_by_label("OTP key", exact=True)).to_have_attribute("type", "password")

    # A paper token with the number of TANs asked for.
    type_select.select_option("paper")
    page.get_by_label("Number of TANs").fill("5")
    page.get_by_role("button", name="Enrol").click()
    expect(page.locator("ol.tan-list li")).to_have_count(5)
    shot(page, "token-enrol-paper")
