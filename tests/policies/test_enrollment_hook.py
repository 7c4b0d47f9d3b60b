"""The enrollment hook inside the token service: one decision for /token/init and the
Token handler's ``enroll`` (limits, issuer and label, change_pin_on_first_use and the
two-step verify_enrollment)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.core.dates import VALIDITY_FORMAT
from tests import factories
from tests.conftest import user_headers
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import (
    RFC4226_OTPS,
    RFC_KEY,
    RFC_KEY_HEX,
    assert_error,
    check,
    get_token,
    init_token,
    ok,
    totp,
)

ALICE = {"user": "alice", "realm": "realm1"}
DefinitionMaker = Callable[..., None]


@pytest.fixture
def define(client: TestClient, admin_headers: dict[str, str]) -> DefinitionMaker:
    """POST /event; ``options`` become ``option.<key>``."""

    def make(*, options: dict[str, str], conditions: dict[str, str] | None = None,
             **fields: str) -> None:  # fmt: skip
        extra = {"conditions": conditions} if conditions else {}
        factories.define(client, admin_headers, options=options, **extra, **fields)

    return make


def user_serials(client: TestClient, headers: dict[str, str], login: str) -> list[str]:
    body = ok(client.get("/token/", params={"user": login, "realm": "realm1"}, headers=headers))
    return sorted(t["serial"] for t in body["result"]["value"]["tokens"])


def event_entries(services: Services) -> list[AuditEntry]:
    with services.sessions() as session:
        stmt = select(AuditEntry).where(AuditEntry.action.like("%-EVENT %"))
        return list(session.scalars(stmt.order_by(AuditEntry.id)))


def otpauth(detail: dict[str, Any]) -> tuple[str, str, dict[str, list[str]]]:
    """(type, label, query) of ``detail.googleurl.value``."""
    url = urlsplit(detail["googleurl"]["value"])
    assert url.scheme == "otpauth"
    return url.netloc, unquote(url.path.lstrip("/")), parse_qs(url.query)


# -- the Token handler ---------------------------------------------------------------


@pytest.mark.parametrize("ignore", [False, True])
def test_token_handler_enroll_obeys_max_token_per_user_unless_told_not_to(
    client: TestClient,
    admin_headers: dict[str, str],
    define: DefinitionMaker,
    set_policy: SetPolicy,
    services: Services,
    flatfile_realm: str,
    ignore: bool,
) -> None:
    set_policy("one-each", scope="enrollment", action="max_token_per_user=1")
    first = init_token(client, admin_headers, type="hotp", genkey=1, **ALICE)["detail"]["serial"]
    options = {"tokentype": "totp", "user": "True"}
    if ignore:
        options["ignore_enrollment_policies"] = "True"
    define(name="second token", event="validate_check", handlermodule="Token",
           action="enroll", position="pre", options=options)  # fmt: skip
    # The action runs before the check; its failure does not break the request.
    assert check(client, user="alice", realm="realm1", **{"pass": "x"})["result"]["value"] is False
    serials = user_serials(client, admin_headers, "alice")
    (entry,) = event_entries(services)
    if ignore:
        assert len(serials) == 2 and first in serials
        assert entry.success is True
    else:
        assert serials == [first]
        assert entry.success is False
        assert "limited to 1" in entry.info and entry.info.startswith("second token (ActionError")


def test_token_handler_enroll_follows_verify_enrollment(
    client: TestClient,
    admin_headers: dict[str, str],
    define: DefinitionMaker,
    set_policy: SetPolicy,
    flatfile_realm: str,
) -> None:
    set_policy("verify", scope="enrollment", action="verify_enrollment=hotp")
    define(name="enrol", event="validate_check", handlermodule="Token", action="enroll",
           position="pre", conditions={"user_token_number": "0"},
           options={"tokentype": "hotp", "user": "True",
                    "additional_params": f"{{otpkey: '{RFC_KEY_HEX}', pin: '1234'}}"})  # fmt: skip
    answer = check(client, user="carol", realm="realm1", **{"pass": "1234" + RFC4226_OTPS[0]})
    assert answer["result"]["value"] is False  # enrolled, but waiting for verification
    (serial,) = user_serials(client, admin_headers, "carol")
    assert get_token(client, admin_headers, serial)["rollout_state"] == "verify"


# -- limits and the audit -------------------------------------------------------------


def test_highest_limit_wins_and_the_audit_names_the_policies(
    client: TestClient,
    admin_headers: dict[str, str],
    set_policy: SetPolicy,
    services: Services,
    flatfile_realm: str,
) -> None:
    set_policy("one", scope="enrollment", action="max_token_per_user=1", priority=1)
    set_policy("two", scope="enrollment", action="max_token_per_user=2", priority=2)
    init_token(client, admin_headers, type="hotp", genkey=1, **ALICE)
    init_token(client, admin_headers, type="hotp", genkey=1, **ALICE)
    body = assert_error(
        client.post("/token/init", data={"type": "hotp", "genkey": 1, **ALICE},
                    headers=admin_headers), 403, 303,
    )  # fmt: skip
    assert "limited to 2" in body["result"]["error"]["message"]
    with services.sessions() as session:
        stmt = select(AuditEntry).where(AuditEntry.action == "POST /token/init")
        entries = list(session.scalars(stmt.order_by(AuditEntry.id)))
    assert [(e.success, e.policies) for e in entries] == [
        (True, "one,two"), (True, "one,two"), (False, "one,two"),
    ]  # fmt: skip


# -- tokenissuer and tokenlabel -----------------------------------------------------


def test_default_issuer_and_label(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    detail = init_token(client, admin_headers, type="hotp", genkey=1, **ALICE)["detail"]
    kind, label, query = otpauth(detail)
    assert (kind, label, query["issuer"]) == ("hotp", "Factorflow:alice@realm1", ["Factorflow"])
    detail = init_token(client, admin_headers, type="totp", genkey=1)["detail"]
    assert otpauth(detail)[1] == f"Factorflow:{detail['serial']}"


@pytest.mark.parametrize("tokentype", ["hotp", "totp"])
def test_tokenissuer_and_tokenlabel_with_tags(
    client: TestClient,
    admin_headers: dict[str, str],
    set_policy: SetPolicy,
    flatfile_realm: str,
    tokentype: str,
) -> None:
    set_policy("qr", scope="enrollment",
               action="tokenissuer=ACME {realm}, tokenlabel={givenname} {surname} {user} {type}"
                      " {serial}")  # fmt: skip
    detail = init_token(client, admin_headers, type=tokentype, genkey=1, **ALICE)["detail"]
    kind, label, query = otpauth(detail)
    serial = detail["serial"]
    assert kind == tokentype
    assert label == f"ACME realm1:Alice Smith alice {tokentype} {serial}"
    assert query["issuer"] == ["ACME realm1"]
    # The QR code shows the same URL as the value (a different URL, a different image).
    plain = init_token(client, admin_headers, type=tokentype, genkey=1)["detail"]
    assert detail["googleurl"]["img"].startswith("data:image/png;base64,")
    assert detail["googleurl"]["img"] != plain["googleurl"]["img"]


def test_tokenlabel_of_a_token_without_user_falls_back_to_the_serial(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy, flatfile_realm: str
) -> None:
    set_policy("qr", scope="enrollment", action="tokenlabel={user}")
    detail = init_token(client, admin_headers, type="hotp", genkey=1)["detail"]
    assert otpauth(detail)[1] == f"Factorflow:{detail['serial']}"


# -- change_pin_on_first_use ----------------------------------------------------------


def next_pin_change(client: TestClient, headers: dict[str, str], serial: str) -> str | None:
    value: str | None = get_token(client, headers, serial)["info"].get("next_pin_change")
    return value


def test_change_pin_on_first_use_is_set_by_admins_and_cleared_by_a_new_pin(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy, flatfile_realm: str
) -> None:
    set_policy("pinchange", scope="enrollment", action="change_pin_on_first_use")
    serial = init_token(client, admin_headers, type="hotp", genkey=1, pin="1234", **ALICE)[
        "detail"]["serial"]  # fmt: skip
    marked = next_pin_change(client, admin_headers, serial)
    assert marked is not None and datetime.strptime(marked, VALIDITY_FORMAT).tzinfo is not None
    # Not for tokens without a user, nor for tokens users enrol themselves.
    unowned = init_token(client, admin_headers, type="hotp", genkey=1)["detail"]["serial"]
    assert next_pin_change(client, admin_headers, unowned) is None
    alice = user_headers(client, "alice")
    own = init_token(client, alice, type="hotp", genkey=1, pin="5678")["detail"]["serial"]
    assert next_pin_change(client, admin_headers, own) is None
    # The user sets a new PIN: done.
    ok(client.post("/token/setpin", data={"serial": serial, "otppin": "9876"}, headers=alice))
    assert next_pin_change(client, admin_headers, serial) is None
    # An administrator resets the PIN: the user must change it again (privacyIDEA).
    ok(client.post("/token/setpin", data={"serial": serial, "otppin": "1111"},
                   headers=admin_headers))  # fmt: skip
    assert next_pin_change(client, admin_headers, serial) is not None


def test_setpin_without_the_policy_clears_the_mark(
    client: TestClient,
    admin_headers: dict[str, str],
    set_policy: SetPolicy,
    services: Services,
    flatfile_realm: str,
) -> None:
    policy = set_policy("pinchange", scope="enrollment", action="change_pin_on_first_use")
    serial = init_token(client, admin_headers, type="hotp", genkey=1, pin="1234", **ALICE)[
        "detail"]["serial"]  # fmt: skip
    assert next_pin_change(client, admin_headers, serial) is not None
    ok(client.delete("/policy/pinchange", headers=admin_headers))
    assert policy
    ok(client.post("/token/setpin", data={"serial": serial, "otppin": "1111"},
                   headers=admin_headers))  # fmt: skip
    assert next_pin_change(client, admin_headers, serial) is None


# -- verify_enrollment ----------------------------------------------------------------


def test_verify_enrollment_two_steps_for_hotp(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy, flatfile_realm: str
) -> None:
    set_policy("verify", scope="enrollment", action="verify_enrollment=hotp totp")
    first = init_token(client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, pin="1234",
                       **ALICE)["detail"]  # fmt: skip
    serial = first["serial"]
    assert first["rollout_state"] == "verify"
    assert first["verify"]["message"] == "Please enter a valid OTP value of the new token."
    assert first["googleurl"]["value"].startswith("otpauth://hotp/")
    assert get_token(client, admin_headers, serial)["rollout_state"] == "verify"
    # Not usable before the verification.
    answer = check(client, user="alice", realm="realm1", **{"pass": "1234" + RFC4226_OTPS[0]})
    assert answer["result"]["value"] is False
    answer = check(client, serial=serial, **{"pass": "1234" + RFC4226_OTPS[0]})
    assert answer["result"]["value"] is False
    assert answer["detail"]["message"] == "No suitable token found for authentication."
    # A wrong OTP: 400, still waiting.
    body = assert_error(client.post("/token/init", data={
        "serial": serial, "type": "hotp", "verify": "000000"}, headers=admin_headers), 400)  # fmt: skip
    assert "Verification of the new token failed" in body["result"]["error"]["message"]
    assert get_token(client, admin_headers, serial)["rollout_state"] == "verify"
    # The right one: enrolled, and the token authenticates with the next OTP.
    done = ok(client.post("/token/init", data={
        "serial": serial, "type": "hotp", "verify": RFC4226_OTPS[0]}, headers=admin_headers))  # fmt: skip
    assert done["detail"]["serial"] == serial and done["detail"]["rollout_state"] == "enrolled"
    assert "googleurl" not in done["detail"]  # the key is not shown a second time
    assert get_token(client, admin_headers, serial)["rollout_state"] == "enrolled"
    answer = check(client, user="alice", realm="realm1", **{"pass": "1234" + RFC4226_OTPS[1]})
    assert answer["result"]["value"] is True


def test_verify_enrollment_by_the_user_for_totp(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy, flatfile_realm: str
) -> None:
    set_policy("verify", scope="enrollment", action="verify_enrollment=totp")
    alice = user_headers(client, "alice")
    first = init_token(client, alice, type="totp", otpkey=RFC_KEY_HEX, pin="1234")["detail"]
    assert first["rollout_state"] == "verify"
    ok(client.post("/token/init", data={"serial": first["serial"], "type": "totp",
                                        "verify": totp(RFC_KEY)}, headers=alice))  # fmt: skip
    assert get_token(client, admin_headers, first["serial"])["rollout_state"] == "enrolled"
    # HOTP is not named by the policy: enrolled at once.
    hotp = init_token(client, alice, type="hotp", genkey=1)["detail"]
    assert hotp["rollout_state"] == "enrolled" and "verify" not in hotp


def test_verify_enrollment_skips_types_without_an_otp_to_read(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy, flatfile_realm: str
) -> None:
    set_policy("verify", scope="enrollment", action="verify_enrollment=spass email")
    detail = init_token(client, admin_headers, type="spass", pin="secret-1", **ALICE)["detail"]
    assert detail["rollout_state"] == "enrolled"


def test_verify_bad_input_changes_nothing(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy, flatfile_realm: str
) -> None:
    enrolled = init_token(client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, pin="1234",
                          **ALICE)["detail"]["serial"]  # fmt: skip
    before = get_token(client, admin_headers, enrolled)
    body = assert_error(client.post("/token/init", data={
        "serial": "NOSUCH1", "type": "hotp", "verify": RFC4226_OTPS[0]},
        headers=admin_headers), 404)  # fmt: skip
    assert "could not be found" in body["result"]["error"]["message"]
    body = assert_error(client.post("/token/init", data={
        "serial": enrolled, "type": "hotp", "verify": RFC4226_OTPS[0]},
        headers=admin_headers), 400)  # fmt: skip
    assert "not waiting for the verification" in body["result"]["error"]["message"]
    assert_error(client.post("/token/init", data={"type": "hotp", "verify": RFC4226_OTPS[0]},
                             headers=admin_headers), 400)  # fmt: skip
    set_policy("verify", scope="enrollment", action="verify_enrollment=hotp")
    pending = init_token(client, admin_headers, type="hotp", genkey=1)["detail"]["serial"]
    body = assert_error(client.post("/token/init", data={
        "serial": pending, "type": "totp", "verify": "123456"}, headers=admin_headers), 400)  # fmt: skip
    assert get_token(client, admin_headers, enrolled) == before
    assert get_token(client, admin_headers, pending)["rollout_state"] == "verify"
    # Another user's pending token is not found for a user.
    bob = user_headers(client, "bob")
    assert_error(client.post("/token/init", data={
        "serial": pending, "type": "hotp", "verify": "123456"}, headers=bob), 404)  # fmt: skip
