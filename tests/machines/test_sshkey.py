"""The sshkey token type: what it accepts, what it refuses, what it stores."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.tokens.models import Token
from tests import factories
from tests.machines import keys

H = dict[str, str]


@pytest.mark.parametrize(
    ("line", "key_type", "comment"),
    [
        (keys.ED25519, "ssh-ed25519", "alice@laptop"),
        (keys.RSA, "ssh-rsa", "rsa key"),
        (keys.ECDSA, "ecdsa-sha2-nistp256", ""),
        (keys.SK_ED25519, "sk-ssh-ed25519@openssh.com", "yubikey"),
        (keys.SK_ECDSA, "sk-ecdsa-sha2-nistp256@openssh.com", ""),
    ],
)
def test_enrols_each_supported_key_type(
    line: str, key_type: str, comment: str, client: TestClient, admin_headers: H,
    services: Services,
) -> None:  # fmt: skip
    serial = factories.enrol(client, admin_headers, "sshkey", sshkey=line)["serial"]
    assert serial.startswith("SSHK")
    info = factories.token_of(client, admin_headers, serial)["info"]
    assert (info["ssh_type"], info["ssh_comment"]) == (key_type, comment)
    with services.sessions() as session:
        row = session.scalars(select(Token).where(Token.serial == serial)).one()
        blob = line.split()[1]
        assert blob not in row.secret_enc  # encrypted like every secret
        assert blob not in str([(i.key, i.value) for i in row.info])


BAD_KEYS = {
    "missing": "",
    "not a key": "hello world",
    "dsa": "ssh-dss AAAAB3NzaC1kc3MAAACBAP== old",
    "bad base64": "ssh-ed25519 AAAA!!!! x",
    "type mismatch": "ssh-rsa " + keys.ED25519.split()[1],
    "truncated": "ssh-ed25519 " + keys.ED25519.split()[1][:-8],
    "two lines": keys.ED25519 + "\n" + keys.RSA,
    "private key": "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA",
}


@pytest.mark.parametrize("name", sorted(BAD_KEYS))
def test_refuses_what_is_not_an_ssh_public_key(
    name: str, client: TestClient, admin_headers: H
) -> None:
    response = client.post(
        "/token/init", data={"type": "sshkey", "sshkey": BAD_KEYS[name]}, headers=admin_headers
    )
    assert response.status_code == 400, response.text
    assert response.json()["result"]["status"] is False
    tokens = factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"]
    assert tokens == []


def test_never_authenticates(client: TestClient, admin_headers: H, flatfile_realm: str) -> None:
    serial = factories.enrol(
        client, admin_headers, "sshkey", sshkey=keys.ED25519, pin="", user="alice",
        realm=flatfile_realm,
    )["serial"]  # fmt: skip
    for data in ({"user": "alice", "pass": ""}, {"serial": serial, "pass": ""}):
        body = client.post("/validate/check", data=data).json()
        assert body["result"]["value"] is False, body
