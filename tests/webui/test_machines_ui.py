"""The Machines and Application links pages: a hosts machine resolver created and tested
through the generated form, its machines, a service id, an sshkey token attached to
it for ssh (the key then served by /machine/authitem) and detached again; a hosts
resolver without a readable file shows the API's error and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.machines import keys
from tests.webui.conftest import LiveServer, shot
from tests.webui.helpers import login_admin, nav, server_get, server_post, session_token

pytestmark = pytest.mark.browser


def card(page: Page, title: str) -> Locator:
    return page.locator("section.card").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )


def ssh_keys(live_server: LiveServer, auth: dict[str, str], user: str = "deploy") -> list[object]:
    reply = server_get(
        f"{live_server.url}/machine/authitem/ssh",
        params={"service_id": "webservers", "user": user}, headers=auth,
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    found: list[object] = reply.json()["result"]["value"].get("ssh", [])
    return found


def test_resolver_service_id_and_ssh_attachment(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("10.0.0.5 web1.example.org web1\n10.0.0.6 web2.example.org\n")
    login_admin(page)
    nav(page, "Machines")
    expect(page.get_by_text("No machine resolvers yet.")).to_be_visible()

    form = card(page, "Create a machine resolver")
    form.get_by_label("Name").fill("lan")
    # The type's options come from the served descriptions: LDAP's replace the file.
    form.get_by_label("Type").select_option("ldap")
    expect(form.locator('[data-param="LDAPURI"]')).to_be_visible()
    expect(form.get_by_label("Hosts file")).to_have_count(0)
    form.get_by_label("Type").select_option("hosts")
    form.get_by_label("Hosts file").fill(str(hosts))
    form.get_by_role("button", name="Test resolver").click()
    expect(form.locator(".test-result")).to_contain_text("✔")
    form.get_by_role("button", name="Create machine resolver").click()
    expect(page.get_by_role("row").filter(has_text="lan").first).to_contain_text(str(hosts))
    machines = card(page, "Machines found")
    expect(machines.get_by_role("row").filter(has_text="web1.example.org")).to_contain_text(
        "10.0.0.5"
    )
    expect(machines.get_by_role("row").filter(has_text="web2.example.org")).to_contain_text("lan")
    machines.get_by_label("Machines of").select_option("lan")
    expect(machines.get_by_role("row").filter(has_text="web1.example.org")).to_contain_text("lan")

    ids = card(page, "Service ids")
    ids.get_by_label("Service id", exact=True).fill("webservers")
    ids.get_by_label("Description", exact=True).fill("web farm")
    ids.get_by_role("button", name="Add service id").click()
    expect(
        card(page, "Service ids").get_by_role("row").filter(has_text="webservers")
    ).to_contain_text("web farm")
    shot(page, "machines")

    auth = {"Authorization": session_token(page)}
    reply = server_post(
        f"{live_server.url}/token/init", headers=auth, json={"type": "sshkey", "sshkey": keys.ED25519}
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    serial = reply.json()["detail"]["serial"]
    assert ssh_keys(live_server, auth) == []

    nav(page, "Application links")
    expect(page.get_by_text("No token is attached to an application.")).to_be_visible()
    attach = card(page, "Attach application")
    attach.get_by_label("Serial", exact=True).fill(serial)
    expect(attach.get_by_label("Application", exact=True)).to_have_value("ssh")
    attach.get_by_label("Service id", exact=True).select_option("webservers")
    attach.get_by_label("user", exact=True).fill("deploy")
    attach.get_by_role("button", name="Attach").click()
    row = page.get_by_role("row").filter(has_text=serial)
    expect(row).to_contain_text("service id webservers")
    expect(row).to_contain_text("user=deploy")
    assert ssh_keys(live_server, auth) == [{"sshkey": keys.ED25519, "username": "deploy"}]

    # The link's options are edited through the served descriptors too.
    page.get_by_role("button", name=f"Options {serial} ssh").click()
    options = card(page, f"Options of {serial} ssh")
    expect(options.get_by_label("user", exact=True)).to_have_value("deploy")
    options.get_by_label("user", exact=True).fill("ops")
    options.get_by_role("button", name="Save options").click()
    row = page.get_by_role("row").filter(has_text=serial)
    expect(row).to_contain_text("user=ops")
    assert ssh_keys(live_server, auth) == []
    assert ssh_keys(live_server, auth, "ops") == [{"sshkey": keys.ED25519, "username": "ops"}]

    # The token's own page lists the link too.
    row.get_by_role("link", name=serial).click()
    links = card(page, "Applications and machines")
    expect(links.get_by_role("row").filter(has_text="ssh")).to_contain_text("user=ops")

    page.once("dialog", lambda dialog: dialog.accept())
    links.get_by_role("button", name=f"Detach {serial} ssh").click()
    expect(
        card(page, "Applications and machines").get_by_text("Attached to no application.")
    ).to_be_visible()
    assert ssh_keys(live_server, auth, "ops") == []

    # A HOTP token attached for offline to a machine of the resolver, on the token's page;
    # the resolver cannot be deleted while the link exists.
    reply = server_post(
        f"{live_server.url}/token/init", headers=auth,
        json={"type": "hotp", "otpkey": "3132333435363738393031323334353637383930"},
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    hotp_serial = reply.json()["detail"]["serial"]
    page.goto(f"/#/tokens/{hotp_serial}")
    expect(page.get_by_role("heading", name=f"Token {hotp_serial}", level=1)).to_be_visible()
    links = card(page, "Applications and machines")
    links.get_by_label("Application", exact=True).select_option("offline")
    links.get_by_label("Hostname", exact=True).fill("web1.example.org")
    links.get_by_label("count", exact=True).fill("20")
    links.get_by_role("button", name="Attach").click()
    row = card(page, "Applications and machines").get_by_role("row").filter(has_text="offline")
    expect(row).to_contain_text("web1.example.org (10.0.0.5 in lan)")
    expect(row).to_contain_text("count=20")
    nav(page, "Machines")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete lan").click()
    expect(page.locator("#toast")).to_contain_text("still used")
    expect(page.get_by_role("row").filter(has_text="lan").first).to_be_visible()
    nav(page, "Application links")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Detach {hotp_serial} offline").click()
    expect(page.get_by_text("No token is attached to an application.")).to_be_visible()

    # The service id and the resolver, no longer used, are deleted through the page.
    nav(page, "Machines")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete webservers").click()
    expect(page.get_by_text("No service ids yet.")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete lan").click()
    expect(page.get_by_text("No machine resolvers yet.")).to_be_visible()


def test_hosts_resolver_with_a_missing_file(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    login_admin(page)
    nav(page, "Machines")
    form = card(page, "Create a machine resolver")
    form.get_by_label("Name").fill("broken")
    form.get_by_label("Hosts file").fill(str(tmp_path / "missing"))
    form.get_by_role("button", name="Create machine resolver").click()
    expect(form.get_by_role("alert").filter(has_text="cannot read the hosts file")).to_be_visible()
    reply = server_get(
        f"{live_server.url}/machineresolver/", headers={"Authorization": session_token(page)}
    )
    assert reply.json()["result"]["value"] == {}
    expect(page.get_by_text("No machine resolvers yet.")).to_be_visible()


def test_attaching_an_unknown_token_shows_the_error(page: Page, live_server: LiveServer) -> None:
    login_admin(page)
    nav(page, "Application links")
    attach = card(page, "Attach application")
    attach.get_by_label("Serial", exact=True).fill("NOSUCH0001")
    attach.get_by_label("Application", exact=True).select_option("offline")
    expect(attach.get_by_label("count", exact=True)).to_have_value("100")
    attach.get_by_role("button", name="Attach").click()
    expect(
        attach.locator(".form-error, .field-error").filter(has_text="NOSUCH0001")
    ).to_be_visible()
    reply = server_get(
        f"{live_server.url}/machine/token", headers={"Authorization": session_token(page)}
    )
    assert reply.json()["result"]["value"] == []
    expect(page.get_by_text("No token is attached to an application.")).to_be_visible()
