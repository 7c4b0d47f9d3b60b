"""The offline application as privacyIDEA's PAM module uses it: a successful
/validate/check hands out hashed future HOTP values, the machine verifies them
offline, refills with its refill token, and the server never accepts them online."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from passlib.hash import pbkdf2_sha512
from starlette.testclient import TestClient

from factorflow.machines.offline import hash_value, verify_value
from tests import factories
from tests.machines.conftest import attach, refused
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, hotp

H = dict[str, str]
PIN = "offl1ne"
ROUNDS = "1000"  # the lowest the option takes: the suite stays fast


def _check(client: TestClient, passw: str) -> dict[str, Any]:
    response = client.post("/validate/check", data={"user": "alice", "pass": passw})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _offline_token(client: TestClient, headers: H, count: str = "5") -> str:
    serial: str = factories.enrol(
        client, headers, "hotp", otpkey=RFC_KEY_HEX, pin=PIN, user="alice", realm="realm1"
    )["serial"]
    attach(client, headers, serial=serial, application="offline", count=count, rounds=ROUNDS)
    return serial


def _counter(client: TestClient, headers: H, serial: str) -> int:
    return int(factories.token_of(client, headers, serial)["count"])


def _ab64(text: str) -> bytes:
    return base64.b64decode(text.replace(".", "+") + "=" * (-len(text) % 4))


def test_the_hash_format_is_passlibs() -> None:
    """``$pbkdf2-sha512$<rounds>$<salt>$<checksum>``, salt and checksum in passlib's
    ab64: what a client without passlib recomputes with PBKDF2 itself."""
    hashed = hash_value("755224", 1000)
    prefix, rounds, salt, checksum = hashed.split("$")[1:]
    assert (prefix, rounds, len(_ab64(salt))) == ("pbkdf2-sha512", "1000", 16)
    expected = hashlib.pbkdf2_hmac("sha512", b"755224", _ab64(salt), 1000)
    assert _ab64(checksum) == expected
    assert pbkdf2_sha512.verify("755224", hashed) and not pbkdf2_sha512.verify("755225", hashed)
    assert verify_value("755224", hashed) and not verify_value("755224", "$md5$x")


def test_check_hands_out_values_verified_offline_and_refused_online(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    serial = _offline_token(client, admin_headers)
    body = _check(client, PIN + RFC4226_OTPS[0])
    assert body["result"]["value"] is True, body
    [item] = body["auth_items"]["offline"]
    assert (item["serial"], item["user"], item["username"]) == (serial, "alice", "alice")
    assert sorted(item["response"], key=int) == ["1", "2", "3", "4", "5"]
    for counter, hashed in item["response"].items():
        assert pbkdf2_sha512.verify(hotp(int(counter)), hashed)
        assert hashed.startswith("$pbkdf2-sha512$1000$")
    assert _counter(client, admin_headers, serial) == 6  # past every value handed out
    for counter in range(1, 6):  # none of them is accepted online
        assert _check(client, PIN + hotp(counter))["result"]["value"] is False
    info = factories.token_of(client, admin_headers, serial)["info"]
    assert info["refilltoken"] == item["refilltoken"]

    # the user typed the 3rd value offline: the machine is topped up to 5 after it
    refill = client.post("/validate/offlinerefill", data={
        "serial": serial, "pass": PIN + hotp(3), "refilltoken": item["refilltoken"]})  # fmt: skip
    assert factories.ok_value(refill) is True
    [again] = refill.json()["auth_items"]["offline"]
    assert again["serial"] == serial and again["refilltoken"] != item["refilltoken"]
    assert sorted(again["response"], key=int) == ["6", "7", "8"]
    assert all(pbkdf2_sha512.verify(hotp(int(c)), h) for c, h in again["response"].items())
    assert _counter(client, admin_headers, serial) == 9
    assert _check(client, PIN + hotp(8))["result"]["value"] is False
    assert _check(client, PIN + hotp(9))["result"]["value"] is True  # beyond: online again


def test_a_refill_that_does_not_match_changes_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    serial = _offline_token(client, admin_headers)
    item = _check(client, PIN + RFC4226_OTPS[0])["auth_items"]["offline"][0]
    before = factories.token_of(client, admin_headers, serial)
    for data in (
        {"serial": serial, "pass": PIN + hotp(2), "refilltoken": "0" * 64},
        {"serial": serial, "pass": PIN + hotp(2)},
        {"serial": serial, "pass": "wrongpin" + hotp(2), "refilltoken": item["refilltoken"]},
        {"serial": serial, "pass": PIN + hotp(7), "refilltoken": item["refilltoken"]},  # not held
        {"serial": serial, "pass": PIN + hotp(0), "refilltoken": item["refilltoken"]},  # used
        {"serial": "NOSUCH", "pass": PIN + hotp(2), "refilltoken": item["refilltoken"]},
    ):
        refused(client.post("/validate/offlinerefill", data=data))
    assert factories.token_of(client, admin_headers, serial) == before
    # a refill token is good for one refill
    data = {"serial": serial, "pass": PIN + hotp(1), "refilltoken": item["refilltoken"]}
    factories.ok_value(client.post("/validate/offlinerefill", data=data))
    refused(client.post("/validate/offlinerefill", data=data))


def test_a_machine_fetches_values_by_hostname(
    client: TestClient, admin_headers: H, flatfile_realm: str, hosts_resolver: str
) -> None:
    serial = factories.enrol(
        client, admin_headers, "hotp", otpkey=RFC_KEY_HEX, pin=PIN, user="alice", realm="realm1"
    )["serial"]
    attach(client, admin_headers, serial=serial, application="offline", count="3",
           rounds=ROUNDS, hostname="db1.example.org")  # fmt: skip
    params = {"hostname": "db1.example.org", "user": "alice"}
    value = factories.ok_value(
        client.get("/machine/authitem/offline", params=params, headers=admin_headers)
    )
    [item] = value["offline"]
    assert sorted(item["response"], key=int) == ["0", "1", "2"]
    assert _counter(client, admin_headers, serial) == 3
    assert _check(client, PIN + hotp(1))["result"]["value"] is False
    # the check does not come from db1: no auth_items
    body = _check(client, PIN + hotp(3))
    assert body["result"]["value"] is True and "auth_items" not in body
    other = {"hostname": "db1.example.org", "user": "bob"}
    value = factories.ok_value(
        client.get("/machine/authitem/offline", params=other, headers=admin_headers)
    )
    assert value == {"offline": []}


def test_the_refill_token_is_not_set_through_token_info(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    """Whoever sets the refill token may top up the machine's values: it is the offline
    application's own, as the counter is (POST/DELETE /token/info refuse it)."""
    serial = _offline_token(client, admin_headers)
    item = _check(client, PIN + RFC4226_OTPS[0])["auth_items"]["offline"][0]
    set_it = client.post(f"/token/info/{serial}/refilltoken", data={"value": "0" * 64},
                         headers=admin_headers)  # fmt: skip
    assert set_it.status_code in (400, 403) and set_it.json()["result"]["status"] is False
    drop_it = client.delete(f"/token/info/{serial}/refilltoken", headers=admin_headers)
    assert drop_it.status_code in (400, 403) and drop_it.json()["result"]["status"] is False
    assert (
        factories.token_of(client, admin_headers, serial)["info"]["refilltoken"]
        == (item["refilltoken"])
    )
