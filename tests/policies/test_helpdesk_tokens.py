"""Help-desk token endpoints: revoke, lost, getserial, copypin, copyuser, setrandompin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.tokens.info import get_info
from factorflow.tokens.models import Token
from tests.conftest import user_headers
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import (
    RFC4226_OTPS,
    RFC_KEY_HEX,
    assert_error,
    get_token,
    hotp,
    init_token,
    ok,
)

OTHER_KEY_HEX = "3132333435363738393031323334353637383930313233343536373839303132"


def _alice_token(client: TestClient, headers: dict[str, str], serial: str = "HD1") -> None:
    init_token(client, headers, type="hotp", serial=serial, otpkey=RFC_KEY_HEX,
               user="alice", realm="realm1", pin="1234")  # fmt: skip


def _accepted(client: TestClient, user: str, passw: str) -> bool:
    body = ok(client.post("/validate/check", data={"user": user, "realm": "realm1", "pass": passw}))
    return bool(body["result"]["value"])


def test_lost_token_gets_a_temporary_password_with_the_old_pin(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, services: Services
) -> None:
    _alice_token(client, admin_headers)
    body = ok(client.post("/token/lost/HD1", headers=admin_headers))
    value = body["result"]["value"]
    assert value["serial"] == "lostHD1"
    password = value["password"]
    assert len(password) == 10
    assert any(c.isdigit() for c in password) and any(c.isalpha() for c in password)
    end = datetime.strptime(value["end_date"], "%Y-%m-%dT%H:%M%z")
    assert timedelta(days=9, hours=23) < end - datetime.now(UTC) <= timedelta(days=10)

    assert get_token(client, admin_headers, "HD1")["active"] is False
    replacement = get_token(client, admin_headers, "lostHD1")
    assert replacement["tokentype"] == "pw"
    assert replacement["username"] == "alice"
    assert "realm1" in replacement["realms"]
    # the user's PIN + the password read out by the help desk; the old token is off
    assert _accepted(client, "alice", "1234" + password)
    assert _accepted(client, "alice", "1234" + password)  # valid until the end date
    assert not _accepted(client, "alice", "9999" + password)
    assert not _accepted(client, "alice", "1234" + RFC4226_OTPS[0])
    with services.sessions() as session:
        row = session.scalars(select(Token).where(Token.serial == "lostHD1")).one()
        assert password not in row.secret_enc  # encrypted at rest
        assert get_info(row, "lost_serial") == "HD1"
    # a second lost for the same token is refused; nothing new is created
    assert_error(client.post("/token/lost/HD1", headers=admin_headers), 400)


def test_lost_token_policies_shape_the_password(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    set_policy("lost", scope="enrollment", realm="realm1",
               action="losttoken_PW_length=16, losttoken_PW_contents=n, losttoken_valid=2")  # fmt: skip
    _alice_token(client, admin_headers)
    value = ok(client.post("/token/lost/HD1", headers=admin_headers))["result"]["value"]
    assert len(value["password"]) == 16 and value["password"].isdigit()
    end = datetime.strptime(value["end_date"], "%Y-%m-%dT%H:%M%z")
    assert end - datetime.now(UTC) <= timedelta(days=2)


def test_lost_refuses_unassigned_unknown_and_users(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    init_token(client, admin_headers, type="hotp", serial="FREE1", otpkey=RFC_KEY_HEX)
    assert_error(client.post("/token/lost/FREE1", headers=admin_headers), 400)
    assert_error(client.post("/token/lost/NOPE", headers=admin_headers), 404)
    _alice_token(client, admin_headers)
    alice = user_headers(client, "alice")
    assert_error(client.post("/token/lost/HD1", headers=alice), 403)
    assert get_token(client, admin_headers, "HD1")["active"] is True


def test_revoked_token_stays_disabled(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    _alice_token(client, admin_headers)
    assert ok(client.post("/token/revoke/HD1", headers=admin_headers))["result"]["value"] == 1
    token = get_token(client, admin_headers, "HD1")
    assert (token["active"], token["revoked"], token["locked"]) == (False, True, True)
    assert_error(client.post("/token/enable/HD1", headers=admin_headers), 400)
    assert get_token(client, admin_headers, "HD1")["active"] is False
    assert not _accepted(client, "alice", "1234" + RFC4226_OTPS[0])
    ok(client.delete("/token/HD1", headers=admin_headers))


def test_getserial_finds_the_unassigned_token_without_moving_its_counter(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    init_token(client, admin_headers, type="hotp", serial="BOX1", otpkey=OTHER_KEY_HEX)
    init_token(client, admin_headers, type="hotp", serial="BOX2", otpkey=RFC_KEY_HEX)
    _alice_token(client, admin_headers, "OWNED1")  # same key, but assigned
    value = ok(client.get(f"/token/getserial/{RFC4226_OTPS[3]}", headers=admin_headers))
    assert value["result"]["value"] == {"count": 2, "serial": "BOX2"}
    # counters unchanged: the OTP is still usable afterwards by whoever gets the token
    assert get_token(client, admin_headers, "BOX2")["count"] == 0
    # beyond the window: not found; with a wider window: found
    far = RFC4226_OTPS[9]
    assert ok(client.get(f"/token/getserial/{far}", params={"window": 5},
                         headers=admin_headers))["result"]["value"]["serial"] is None  # fmt: skip
    assert ok(client.get(f"/token/getserial/{far}", params={"window": 20},
                         headers=admin_headers))["result"]["value"]["serial"] == "BOX2"  # fmt: skip
    # assigned tokens only when asked
    value = ok(client.get(f"/token/getserial/{RFC4226_OTPS[3]}", params={"assigned": 1},
                          headers=admin_headers))  # fmt: skip
    assert value["result"]["value"]["serial"] == "OWNED1"
    assert_error(client.get("/token/getserial/123456", params={"window": 0},
                            headers=admin_headers), 400)  # fmt: skip


def test_copypin_and_copyuser(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    _alice_token(client, admin_headers, "OLD1")
    init_token(client, admin_headers, type="hotp", serial="NEW1", otpkey=OTHER_KEY_HEX)
    ok(client.post("/token/copyuser", data={"from": "OLD1", "to": "NEW1"}, headers=admin_headers))
    ok(client.post("/token/copypin", data={"from": "OLD1", "to": "NEW1"}, headers=admin_headers))
    ok(client.post("/token/disable/OLD1", headers=admin_headers))
    new = get_token(client, admin_headers, "NEW1")
    assert new["username"] == "alice" and "realm1" in new["realms"]
    assert _accepted(client, "alice", "1234" + hotp(0, bytes.fromhex(OTHER_KEY_HEX)))
    # bad input: same token, unknown token, missing parameter; nothing changes
    assert_error(client.post("/token/copypin", data={"from": "NEW1", "to": "NEW1"},
                             headers=admin_headers), 400)  # fmt: skip
    assert_error(client.post("/token/copypin", data={"from": "NEW1", "to": "NOPE"},
                             headers=admin_headers), 404)  # fmt: skip
    assert_error(client.post("/token/copyuser", data={"to": "NEW1"}, headers=admin_headers), 400)


def test_copy_needs_the_right_in_both_realms(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    realm_b: str, set_policy: SetPolicy,
) -> None:  # fmt: skip
    _alice_token(client, admin_headers, "TOKA")
    init_token(client, admin_headers, type="hotp", serial="TOKB", otpkey=OTHER_KEY_HEX,
               user="dave", realm="realm2", pin="5555")  # fmt: skip
    init_token(client, admin_headers, type="hotp", serial="TOKA2", otpkey=OTHER_KEY_HEX,
               user="alice", realm="realm1")  # fmt: skip
    set_policy("superuser", scope="admin", action="copytokenpin, tokenlist, policywrite",
               adminuser="admin")  # fmt: skip
    set_policy("helpdesk-a", scope="admin", action="copytokenpin, setrandompin, tokenlist",
               adminuser="helpdesk", realm="realm1")  # fmt: skip
    assert_error(client.post("/token/copypin", data={"from": "TOKB", "to": "TOKA"},
                             headers=helpdesk_headers), 403)  # fmt: skip
    ok(client.post("/token/copypin", data={"from": "TOKA", "to": "TOKA2"},
                   headers=helpdesk_headers))  # fmt: skip
    assert_error(client.post("/token/setrandompin/TOKB", headers=helpdesk_headers), 403)


def test_setrandompin_returns_the_pin_once(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    _alice_token(client, admin_headers)
    body = ok(client.post("/token/setrandompin", data={"serial": "HD1"}, headers=admin_headers))
    pin = body["detail"]["pin"]
    assert len(pin) == 12
    assert _accepted(client, "alice", pin + RFC4226_OTPS[0])
    assert not _accepted(client, "alice", "1234" + RFC4226_OTPS[1])
    # privacyIDEA: the length from otp_pin_set_random, the characters from otp_pin_contents
    set_policy("pins", scope="admin", action="otp_pin_set_random=6, otp_pin_contents=[123]")
    pin = ok(client.post("/token/setrandompin/HD1", headers=admin_headers))["detail"]["pin"]
    assert len(pin) == 6 and set(pin) <= set("123")
    set_policy("pins", action="otp_pin_set_random=8, otp_pin_random_content=n")
    pin = ok(client.post("/token/setrandompin/HD1", headers=admin_headers))["detail"]["pin"]
    assert len(pin) == 8 and pin.isdigit()
    assert_error(client.post("/token/setrandompin", headers=admin_headers), 400)


def test_setrandompin_under_change_pin_on_first_use_asks_for_a_new_pin(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    _alice_token(client, admin_headers)
    assert "next_pin_change" not in get_token(client, admin_headers, "HD1")["info"]
    set_policy("first-use", scope="enrollment", realm="realm1", action="change_pin_on_first_use")
    ok(client.post("/token/setrandompin/HD1", headers=admin_headers))
    assert "next_pin_change" in get_token(client, admin_headers, "HD1")["info"]


def test_help_desk_policy_values_are_checked_on_save(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    for scope, action in (
        ("enrollment", "losttoken_PW_length=0"), ("enrollment", "losttoken_PW_length=32"),
        ("enrollment", "losttoken_valid=0"), ("enrollment", "losttoken_valid=61"),
        ("enrollment", "losttoken_PW_contents=xyz"), ("admin", "otp_pin_set_random=abc"),
        ("user", "otp_pin_set_random=32"), ("admin", "otp_pin_random_content=c n"),
        ("admin", "otp_pin_contents=[]"), ("user", "otp_pin_contents=cq"),
    ):  # fmt: skip
        data = {"scope": scope, "action": action}
        body = assert_error(client.post("/policy/bad", data=data, headers=admin_headers), 400)
        assert action.split("=")[0] in body["result"]["error"]["message"], body
    policies = ok(client.get("/policy/", headers=admin_headers))["result"]["value"]
    assert not any(p["name"] == "bad" for p in policies)
