"""After a check, event conditions about the token know it only when its PIN was
right (issue 13 #8): the documentation's "notify the user when his password was
guessed" (tokentype + result_value=False) must not fire for a wrong PIN, not even
for a privacyIDEA-compatible definition, where privacyIDEA falls back to the user's
only token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.events.handlers.counter import counter_total
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, check, init_token, ok

H = dict[str, str]


def count_when(client: TestClient, headers: H, name: str, conditions: dict[str, str],
               position: str = "post") -> None:  # fmt: skip
    """A compatible definition (no unknown_is_match: unknown counts as privacyIDEA's
    answer) that counts in ``name`` when ``conditions`` hold."""
    definition: dict[str, Any] = {
        "name": name, "event": "validate_check", "handlermodule": "Counter",
        "action": "increase_counter", "position": position, "option.counter_name": name,
        "conditions": json.dumps(conditions),
    }  # fmt: skip
    ok(client.post("/event", data=definition, headers=headers))


def counted(services: Services, name: str) -> int:
    with services.sessions() as session:
        return counter_total(session, name)


@pytest.fixture
def guessed(client: TestClient, admin_headers: H, flatfile_realm: str) -> None:
    init_token(client, admin_headers, serial="HOTP1", otpkey=RFC_KEY_HEX, pin="1234",
               user="alice", realm=flatfile_realm)  # fmt: skip
    count_when(client, admin_headers, "guessed", {"tokentype": "hotp", "result_value": "False"})
    count_when(client, admin_headers, "by_serial", {"serial": "HOTP", "result_value": "False"})
    count_when(client, admin_headers, "locked", {"token_locked": "False", "result_value": "False"})
    # Before the check nothing is known about the PIN: the user's only token it is,
    # as in privacyIDEA (the classic "unlock in pre position" definitions need it).
    count_when(client, admin_headers, "pre", {"tokentype": "hotp"}, position="pre")


def test_only_the_right_pin_identifies_the_token(
    client: TestClient, services: Services, guessed: None
) -> None:
    names = ("guessed", "by_serial", "locked")
    check(client, user="alice", **{"pass": "9999" + RFC4226_OTPS[0]})
    assert [counted(services, name) for name in names] == [0, 0, 0]
    assert counted(services, "pre") == 1
    body = check(client, user="alice", **{"pass": "1234000000"})  # right PIN, wrong OTP
    assert body["detail"]["serial"] == "HOTP1"
    assert [counted(services, name) for name in names] == [1, 1, 1]


def test_the_dry_run_says_why(client: TestClient, admin_headers: H, guessed: None) -> None:
    sample = {
        "event": "validate_check", "user": "alice", "realm": "realm1",
        "result": {"status": True, "value": False, "authentication": "REJECT",
                   "detail": {"message": "wrong otp pin"}},
    }  # fmt: skip
    r = client.post("/event/test", json=sample, headers=admin_headers)
    runs = {run["name"]: run for run in ok(r)["result"]["value"]["definitions"]}
    trace = {t["condition"]: t for t in runs["guessed"]["conditions"]}
    assert trace["tokentype"]["result"] == "unknown"
    assert trace["tokentype"]["counts_as"] == "not_matched"
    assert "identified no token" in trace["tokentype"]["reason"]
    assert runs["guessed"]["fires"] is False
