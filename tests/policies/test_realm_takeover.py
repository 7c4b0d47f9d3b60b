"""Issue 12 item 1 as the attacker tried it: a help desk limited to realm1 takes over
a user of realm2 through an unassigned token — and the ways around the fix."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.policies import authorizer
from factorflow.tokens.models import Token
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, assert_error, get_token, ok

HELPDESK_RIGHTS = "enrollHOTP, assign, unassign, tokenlist, tokenrealms, setpin, delete"


@pytest.fixture
def helpdesk_of_realm1(set_policy: SetPolicy, realm_b: str) -> None:
    set_policy("superuser", scope="admin", adminuser="admin",
               action=f"{HELPDESK_RIGHTS}, policywrite, eventhandling_write")  # fmt: skip
    set_policy("helpdesk-a", scope="admin", action=HELPDESK_RIGHTS, adminuser="helpdesk",
               realm="realm1")  # fmt: skip


def _dave_logs_in(client: TestClient, pin: str) -> bool:
    data = {"user": "dave", "realm": "realm2", "pass": pin + RFC4226_OTPS[0]}
    return bool(ok(client.post("/validate/check", data=data))["result"]["value"])


def _unowned(client: TestClient, headers: dict[str, str], serial: str) -> None:
    token = get_token(client, headers, serial)
    assert (token["username"], token["user_realm"], token["realms"]) == ("", "", [])


def _secret(services: Services, serial: str) -> tuple[str, str]:
    with services.sessions() as session:
        row = session.scalars(select(Token).where(Token.serial == serial)).one()
        return row.secret_enc, row.pin_hash


def test_an_unassigned_token_with_a_known_key_cannot_be_given_to_another_realm(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    helpdesk_of_realm1: None,
) -> None:  # fmt: skip
    # Enrolling for dave directly was always refused ...
    direct = {"type": "hotp", "otpkey": RFC_KEY_HEX, "user": "dave", "realm": "realm2"}
    assert_error(client.post("/token/init", data=direct, headers=helpdesk_headers), 403, 303)
    # ... an unassigned token with a key the help desk knows is allowed (a spare token) ...
    body = ok(client.post("/token/init", data={"type": "hotp", "otpkey": RFC_KEY_HEX},
                          headers=helpdesk_headers))  # fmt: skip
    serial = body["detail"]["serial"]
    # ... but giving it to dave, with a PIN, is not; the token stays as it was.
    assign = {"serial": serial, "user": "dave", "realm": "realm2", "pin": "4711"}
    assert_error(client.post("/token/assign", data=assign, headers=helpdesk_headers), 403, 303)
    _unowned(client, admin_headers, serial)
    assert not _dave_logs_in(client, "4711")
    assert not _dave_logs_in(client, "")
    # A user of its own realm may get it.
    ok(client.post("/token/assign", data={**assign, "user": "alice", "realm": "realm1"},
                   headers=helpdesk_headers))  # fmt: skip


def test_re_enrolling_an_unassigned_serial_for_another_realms_user_is_refused(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    helpdesk_of_realm1: None, services: Services,
) -> None:  # fmt: skip
    ok(client.post("/token/init", data={"type": "hotp", "genkey": 1, "serial": "SPARE1"},
                   headers=admin_headers))  # fmt: skip
    before = _secret(services, "SPARE1")
    rekey = {"type": "hotp", "serial": "SPARE1", "otpkey": RFC_KEY_HEX, "user": "dave",
             "realm": "realm2", "pin": "4711"}  # fmt: skip
    assert_error(client.post("/token/init", data=rekey, headers=helpdesk_headers), 403, 303)
    assert _secret(services, "SPARE1") == before
    _unowned(client, admin_headers, "SPARE1")
    assert not _dave_logs_in(client, "4711")


def test_a_pre_definition_that_moves_the_request_to_another_realm_is_checked_too(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    helpdesk_of_realm1: None,
) -> None:  # fmt: skip
    """The rights hold for what the request touches after pre definitions changed it."""
    ok(client.post("/token/init", data={"type": "hotp", "otpkey": RFC_KEY_HEX,
                                        "serial": "SPARE2"}, headers=admin_headers))  # fmt: skip
    definition = {"name": "to-realm2", "event": "token_assign", "handlermodule": "RequestMangler",
                  "action": "set", "position": "pre", "option.parameter": "realm",
                  "option.value": "realm2", "option.match_parameter": "user",
                  "option.match_pattern": "dave"}  # fmt: skip
    ok(client.post("/event", data=definition, headers=admin_headers))
    # dave is no user of realm1: as sent, the request names realm1, which is granted
    assign = {"serial": "SPARE2", "user": "dave", "realm": "realm1", "pin": "4711"}
    assert_error(client.post("/token/assign", data=assign, headers=helpdesk_headers), 403, 303)
    _unowned(client, admin_headers, "SPARE2")
    assert not _dave_logs_in(client, "4711")


def _entries(services: Services, action: str) -> list[AuditEntry]:
    with services.sessions() as session:
        stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(session.scalars(stmt))


def test_each_target_is_granted_and_the_audit_names_every_granting_policy(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    realm_b: str, set_policy: SetPolicy, services: Services,
) -> None:  # fmt: skip
    for serial, realm in (("R1-SPARE", "realm1"), ("R2-SPARE", "realm2")):
        ok(client.post("/token/init", data={"type": "hotp", "genkey": 1, "serial": serial,
                                            "realm": realm}, headers=admin_headers))  # fmt: skip
    set_policy("superuser", scope="admin", action="assign, policywrite", adminuser="admin")
    set_policy("hd-r1", scope="admin", action="assign", adminuser="helpdesk", realm="realm1")
    set_policy("hd-r2-enable", scope="admin", action="enable", adminuser="helpdesk",
               realm="realm2")  # fmt: skip
    refused = {"serial": "R1-SPARE", "user": "dave", "realm": "realm2"}
    assert_error(client.post("/token/assign", data=refused, headers=helpdesk_headers), 403)
    # the right in the token's realm and the new owner's realm, from two policies
    set_policy("hd-r2", scope="admin", action="assign", adminuser="helpdesk", realm="realm2")
    ok(client.post("/token/assign", data=refused, headers=helpdesk_headers))
    first, second = _entries(services, "POST /token/assign")[-2:]
    assert not first.success
    assert first.info == "refused by admin policies: assign on user dave@realm2"
    assert second.success and second.policies == "hd-r1,hd-r2"


def test_without_admin_policies_no_object_is_looked_up(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    realm_b: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The common case stays as cheap as before: no admin policy, no target lookups."""

    def no_lookups(*args: Any) -> None:
        raise AssertionError("targets were looked up without admin policies")

    monkeypatch.setattr(authorizer, "DbObjects", no_lookups)
    data = {"type": "hotp", "otpkey": RFC_KEY_HEX, "user": "dave", "realm": "realm2"}
    ok(client.post("/token/init", data=data, headers=helpdesk_headers))


def test_too_many_names_are_refused_before_anything_is_looked_up(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    helpdesk_of_realm1: None,
) -> None:  # fmt: skip
    ok(client.post("/token/init", data={"type": "hotp", "genkey": 1, "serial": "KEEP1"},
                   headers=admin_headers))  # fmt: skip
    serials = ["KEEP1"] + [f"X{i}" for i in range(1000)]
    body = assert_error(client.post("/token/unassign", json={"serials": serials},
                                    headers=helpdesk_headers), 400)  # fmt: skip
    assert "at most 1000" in body["result"]["error"]["message"]
    for value in ({"a": 1}, [["KEEP1"]], 12.5):  # odd JSON: a clear 4xx, nothing changed
        data = {"serial": value}
        response = client.request("DELETE", "/token/", json=data, headers=helpdesk_headers)
        assert 400 <= response.status_code < 500, response.text
    get_token(client, admin_headers, "KEEP1")
