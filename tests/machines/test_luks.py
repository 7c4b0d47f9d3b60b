"""The luks application: HMAC-SHA1 challenge-response material for a disk slot."""

from __future__ import annotations

import hashlib
import hmac

from starlette.testclient import TestClient

from tests import factories
from tests.machines import keys
from tests.machines.conftest import attach, refused
from tests.tokens.helpers import RFC_KEY, RFC_KEY_HEX

H = dict[str, str]


def test_challenge_response_for_a_slot(
    client: TestClient, admin_headers: H, hosts_resolver: str
) -> None:
    serial = factories.enrol(client, admin_headers, "hotp", otpkey=RFC_KEY_HEX)["serial"]
    host = {"hostname": "web1.example.org"}
    attach(client, admin_headers, serial=serial, application="luks", slot="3",
           partition="/dev/sda2", **host)  # fmt: skip
    params = {**host, "challenge": "00ff10"}
    value = factories.ok_value(
        client.get("/machine/authitem/luks", params=params, headers=admin_headers)
    )
    assert value == {"luks": [{
        "serial": serial, "slot": "3", "partition": "/dev/sda2", "challenge": "00ff10",
        "response": hmac.new(RFC_KEY, bytes.fromhex("00ff10"), hashlib.sha1).hexdigest(),
    }]}  # fmt: skip
    [item] = factories.ok_value(
        client.get("/machine/authitem/luks", params=host, headers=admin_headers)
    )["luks"]
    challenge = bytes.fromhex(item["challenge"])
    assert len(challenge) == 32  # a random one when the client sends none
    assert item["response"] == hmac.new(RFC_KEY, challenge, hashlib.sha1).hexdigest()
    refused(client.get("/machine/authitem/luks", params={**host, "challenge": "zz"},
                       headers=admin_headers))  # fmt: skip
    ssh = factories.enrol(client, admin_headers, "sshkey", sshkey=keys.ED25519)["serial"]
    refused(client.post("/machine/token", data={"serial": ssh, "application": "luks", **host},
                        headers=admin_headers))  # fmt: skip
    refused(client.post("/machine/token", headers=admin_headers, data={
        "serial": serial, "application": "luks", "slot": "99", "hostname": "db1.example.org"}))  # fmt: skip
