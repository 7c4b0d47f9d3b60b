"""privacyIDEA keeps changing while both run side by side: a second run carries what
changed there since the first (reported "updated" or "new") and leaves the rest alone.

The changes are made through privacyIDEA's own REST API on a copy of the provisioned
SQLite installation, so the shared installation stays as provisioned.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bench.products import PrivacyIdea
from factorflow.bootstrap import Services
from tests.migrate.pi_server import KEY, TELL_OWNER, ProvisionedPi, copy_installation, hotp
from tests.migrate.pi_server import check as pi_check
from tests.migrate.test_privacyidea import (
    IMPORTED_TOKENS,
    TAN_REFUSED,
    check,
    pi_admin,
    run,
    token,
)


@pytest.fixture
def pi_copy(privacyidea: ProvisionedPi, tmp_path: Path) -> Iterator[ProvisionedPi]:
    """A copy of the provisioned SQLite installation, running (stopped at the end)."""
    server = copy_installation(privacyidea.server.data_dir, tmp_path / "pi")
    server.start(1)
    try:
        yield ProvisionedPi(
            server, privacyidea.users_file, privacyidea.totp_step, privacyidea.registration_code
        )
    finally:
        server.stop()


def change_privacyidea(server: PrivacyIdea) -> None:
    """One change of each sort, each to its own item."""
    call = server.call
    call("POST", "/token/set", {"serial": "EMAIL1", "description": "changed in privacyIDEA"})
    call("POST", "/token/setpin", {"serial": "SPASS1", "otppin": "sp2secret"})
    # HOTP1 was used at 0 and 1 there: 2 moves its counter on to 3.
    assert pi_check(server, "HOTP1", "hp1" + hotp(KEY, 2))
    call(
        "POST",
        "/token/init",
        {"type": "hotp", "otpkey": KEY.hex(), "pin": "new1", "serial": "HOTPNEW", "realm": "r1"},
    )
    call(
        "POST",
        "/policy/pol1",
        {"scope": "authentication", "action": "passOnNoUser", "realm": "r1", "active": "true"},
    )
    (tell_owner,) = [d for d in call("GET", "/event/") if d["name"] == "tell-owner"]
    call(
        "POST",
        "/event",
        {**TELL_OWNER, "id": str(tell_owner["id"]), "option.subject": "your token was disabled"},
    )


# A copy of the SQLite installation is a file copy; reading PostgreSQL is tested
# by test_privacyidea.
@pytest.mark.parametrize("privacyidea", ["sqlite"], indirect=True)
def test_a_second_run_carries_what_changed_in_privacyidea(
    services: Services, pi_copy: ProvisionedPi, client: TestClient
) -> None:
    first = run(services, pi_copy)
    assert first.counts["token", "new"] == len(IMPORTED_TOKENS)
    change_privacyidea(pi_copy.server)
    pi_copy.server.stop()

    second = run(services, pi_copy)

    changed = {"EMAIL1", "SPASS1", "HOTP1"}
    assert second.counts["token", "updated"] == len(changed)
    assert second.counts["token", "new"] == 1
    assert second.counts["token", "unchanged"] == len(IMPORTED_TOKENS - changed)
    assert (second.counts["policy", "updated"], second.counts["event", "updated"]) == (1, 1)
    assert second.counts["event", "unchanged"] == 1
    # privacyIDEA's own definition counted the check and the enrolment.
    assert second.counts["event counter", "updated"] == 1
    kinds = ("resolver", "realm", "token group", "admin", "SMTP server", "SMS gateway")
    for kind in (*kinds, "privacyIDEA server"):
        assert second.counts[kind, "updated"] == second.counts[kind, "new"] == 0, kind
        assert second.counts[kind, "unchanged"] >= 1, kind
    assert second.not_imported == [TAN_REFUSED]

    headers = pi_admin(client)
    assert token(client, headers, "EMAIL1")["description"] == "changed in privacyIDEA"
    assert not check(client, "SPASS1", "sp1secret")
    assert check(client, "SPASS1", "sp2secret")
    assert not check(client, "HOTP1", "hp1" + hotp(KEY, 2)), "used in privacyIDEA since"
    assert check(client, "HOTP1", "hp1" + hotp(KEY, 3))
    assert check(client, "HOTPNEW", "new1" + hotp(KEY, 0))
    with services.sessions() as session:
        assert "passOnNoUser" in str(services.policies.get(session, "pol1")["action"])
        (definition,) = [d for d in services.events.all(session) if d["name"] == "tell-owner"]
        assert definition["options"]["subject"] == "your token was disabled"

    third = run(services, pi_copy)
    assert third.total("new") == third.total("updated") == 0
