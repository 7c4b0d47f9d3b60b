"""``factorflow migrate privacyidea`` against a real privacyIDEA 3.14 (on SQLite and on
PostgreSQL): what was provisioned there works the same here."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from factorflow.api.app import collect_routes
from factorflow.bootstrap import Services
from factorflow.cli.migrate import migration_target
from factorflow.events.models import EventCounter
from factorflow.migrate.items import Report
from factorflow.migrate.names import PRIVACYIDEA, SourceNames
from factorflow.migrate.privacyidea import PiInstallation, migrate
from factorflow.tokens.types.motp import motp_value
from tests.migrate.pi_server import (
    ADMIN_PASSWORD,
    HELPDESK_PASSWORD,
    KEY,
    MOTP_PIN,
    MOTP_SECRET,
    ProvisionedPi,
    hotp,
)

H = dict[str, str]
IMPORTED_TOKENS = {
    "HOTP1",
    "TOTP1",
    "SPASS1",
    "EMAIL1",
    "SMS1",
    "HOTPDIS",
    "HOTPREV",
    "PW1",
    "REG1",
    "MOTP1",
}
#: What is refused: privacyIDEA's TAN hashes (salted SHA-256) cannot be carried.
TAN_REFUSED = ("token", "TAN1", "privacyIDEA's TAN hashes cannot be carried; enrol a new TAN list")


def run(
    services: Services,
    pi: ProvisionedPi,
    *,
    dry_run: bool = False,
    names: SourceNames = PRIVACYIDEA,
    with_audit: bool = False,
) -> Report:
    services.events.set_available_events(
        [spec.endpoint.event for routes in collect_routes() for spec in routes.specs]
    )
    installation = PiInstallation.open(pi.pi_cfg, names, with_audit=with_audit)
    try:
        target = migration_target(services)
        return migrate(installation, target, services.token_types, services.box, dry_run=dry_run)
    finally:
        installation.close()


def check(client: TestClient, serial: str, password: str) -> bool:
    # Like privacyIDEA, Factorflow URL-decodes form values once more for clients not
    # exempted by user agent: a value with "%" (privacyIDEA's registration codes may
    # have one) is sent quoted once more, as clients of privacyIDEA send it.
    r = client.post("/validate/check", data={"serial": serial, "pass": quote(password, safe="")})
    assert r.status_code == 200, r.text
    return bool(r.json()["result"]["value"])


def token(client: TestClient, headers: H, serial: str) -> dict:  # type: ignore[type-arg]
    r = client.get("/token/", params={"serial": serial}, headers=headers)
    (found,) = r.json()["result"]["value"]["tokens"]
    return found  # type: ignore[no-any-return]


def test_dry_run_reports_and_changes_nothing(
    services: Services, privacyidea: ProvisionedPi, client: TestClient, admin_headers: H
) -> None:
    report = run(services, privacyidea, dry_run=True)
    assert report.counts["token", "new"] == len(IMPORTED_TOKENS)
    assert report.not_imported == [TAN_REFUSED]
    for kind in (
        "resolver",
        "realm",
        "default realm",
        "token group",
        "SMTP server",
        "SMS gateway",
        "privacyIDEA server",
        "policy",
        "event counter",
    ):
        assert report.counts[kind, "new"] == 1, kind
    assert report.counts["admin", "new"] == 2
    assert report.counts["event", "new"] == 2
    listing = client.get("/token/", headers=admin_headers).json()["result"]["value"]
    assert listing["count"] == 0
    assert not services.admins.pepper_file or not services.admins.pepper_file.exists()


def test_tokens_take_their_pin_and_next_otp_and_refuse_used_ones(
    services: Services, privacyidea: ProvisionedPi, client: TestClient
) -> None:
    run(services, privacyidea)
    check_tokens(client, privacyidea)


def check_tokens(client: TestClient, pi: ProvisionedPi) -> None:
    """The provisioned tokens take their PIN and next OTP, and refuse used ones."""
    assert not check(client, "HOTP1", "hp1" + hotp(KEY, 1)), "used in the source"
    assert not check(client, "HOTP1", "hp2" + hotp(KEY, 2)), "wrong PIN"
    assert check(client, "HOTP1", "hp1" + hotp(KEY, 2))
    assert not check(client, "HOTP1", "hp1" + hotp(KEY, 2)), "used here"
    step = pi.totp_step
    assert not check(client, "TOTP1", "tp1" + hotp(KEY, step)), "used in the source"
    later = max(step + 1, int(time.time() // 30))
    assert check(client, "TOTP1", "tp1" + hotp(KEY, later))
    assert check(client, "SPASS1", "sp1secret")
    assert check(client, "PW1", "pwtokenpass")
    assert check(client, "REG1", pi.registration_code)
    motp = motp_value(MOTP_SECRET, MOTP_PIN, int(time.time() // 10))
    assert check(client, "MOTP1", motp), "secret and mOTP PIN carried"
    assert not check(client, "MOTP1", motp), "used here"
    # eduMFA moved HOTPDIS's counter past 0 at the refused check; 1 is refused as disabled.
    assert not check(client, "HOTPDIS", "dis1" + hotp(KEY, 1)), "disabled"
    assert not check(client, "HOTPREV", "rev1" + hotp(KEY, 0)), "revoked"


def pi_admin(client: TestClient) -> H:
    """The migrated admin's JWT (the import replaces an admin of the same name)."""
    r = client.post("/auth", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": r.json()["result"]["value"]["token"]}


def test_token_state_is_carried(
    services: Services, privacyidea: ProvisionedPi, client: TestClient
) -> None:
    run(services, privacyidea)
    admin_headers = pi_admin(client)
    hotp1 = token(client, admin_headers, "HOTP1")
    assert (hotp1["username"], hotp1["user_realm"], hotp1["realms"]) == ("alice", "r1", ["r1"])
    assert hotp1["maxfail"] == 7
    assert hotp1["count"] == 2
    assert hotp1["description"] == "pi HOTP1"
    assert hotp1["info"]["custom"] == "hello"
    assert hotp1["tokengroup"] == ["grp1"] or "grp1" in str(hotp1.get("tokengroup"))
    assert token(client, admin_headers, "SMS1")["failcount"] == 1
    assert token(client, admin_headers, "SMS1")["info"]["phone"] == "+4912345"
    assert token(client, admin_headers, "EMAIL1")["info"]["email"] == "alice@example.com"
    assert token(client, admin_headers, "HOTPDIS")["active"] is False
    revoked = token(client, admin_headers, "HOTPREV")
    assert (revoked["revoked"], revoked["locked"]) == (True, True)
    spass = token(client, admin_headers, "SPASS1")
    assert spass["info"]["validity_period_end"] == "2099-01-01T00:00+0000"
    with services.sessions() as session:
        row = services.tokens.access.find(session, "HOTP1")
        assert row is not None and row.secret_enc.startswith("v1:")
        assert services.tokens.type_of(row).load_secret() == KEY


def test_admins_log_in_with_their_privacyidea_passwords(
    services: Services, privacyidea: ProvisionedPi, client: TestClient
) -> None:
    run(services, privacyidea)
    check_admin_logins(client)
    with services.sessions() as session:
        # Rehashed in Factorflow's own form at the first success.
        assert services.admins.get(session, "admin").password_hash.startswith("$argon2")
    r = client.post("/auth", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text


def check_admin_logins(client: TestClient) -> None:
    """Both provisioned admins log in with their old passwords, a wrong one does not."""
    for name, password in (("admin", ADMIN_PASSWORD), ("helpdesk", HELPDESK_PASSWORD)):
        r = client.post("/auth", data={"username": name, "password": password})
        assert r.status_code == 200, r.text
        assert r.json()["result"]["value"]["role"] == "admin"
    r = client.post("/auth", data={"username": "helpdesk", "password": "wrong-pass-1"})
    assert r.status_code == 401


def test_definitions_fire_and_policies_apply(
    services: Services, privacyidea: ProvisionedPi, client: TestClient
) -> None:
    run(services, privacyidea)

    def logins() -> int:
        with services.sessions() as session:
            total = session.scalar(
                select(func.sum(EventCounter.value)).where(EventCounter.counter_name == "logins")
            )
            return int(total or 0)

    before = logins()
    assert before >= 3, "privacyIDEA's own count is carried"
    assert check(client, "HOTP1", "hp1" + hotp(KEY, 2))
    assert logins() == before + 1
    # pol1 passOnNoToken: carol has no token in realm r1.
    r = client.post("/validate/check", data={"user": "carol", "realm": "r1", "pass": "anything"})
    assert r.json()["result"]["value"] is True, r.text


def test_config_secrets_are_carried(services: Services, privacyidea: ProvisionedPi) -> None:
    run(services, privacyidea)
    with services.sessions() as session:
        assert services.notify.smtp_settings(session, "mail1").password == "smtppw"
        assert services.notify.sms_settings(session, "gw1").basic_auth == ("smsuser", "smspw")


def test_privacyidea_servers_are_carried(services: Services, privacyidea: ProvisionedPi) -> None:
    run(services, privacyidea)
    with services.sessions() as session:
        servers = services.federation.list_servers(session)
    assert {k: {**v, "id": 0} for k, v in servers.items()} == {
        "remote1": {
            "id": 0,
            "identifier": "remote1",
            "url": "https://mfa.example.org",
            "tls": False,
            "timeout": 10.0,
            "description": "the other one",
        }
    }


def test_a_second_run_imports_only_what_changed(
    services: Services, privacyidea: ProvisionedPi, client: TestClient
) -> None:
    first = run(services, privacyidea)
    assert first.total("new") > 0
    assert check(client, "HOTP1", "hp1" + hotp(KEY, 2))
    second = run(services, privacyidea)
    assert second.total("new") == second.total("updated") == 0
    assert second.counts["token", "unchanged"] == len(IMPORTED_TOKENS)
    # Factorflow's counter moved on; an unchanged source does not set it back.
    assert not check(client, "HOTP1", "hp1" + hotp(KEY, 2))


@pytest.mark.parametrize("dry_run", [True, False])
def test_nothing_is_written_to_privacyidea(
    services: Services, privacyidea: ProvisionedPi, dry_run: bool
) -> None:
    before = privacyidea.server.data_dir.joinpath("pi.sqlite")
    stamp = before.stat().st_mtime if before.exists() else None
    run(services, privacyidea, dry_run=dry_run)
    assert (before.stat().st_mtime if before.exists() else None) == stamp
