"""PSKC (RFC 6030) over ``POST /token/load``: RFC 6030's example files, keys encrypted
with a pre-shared key (section 6.1) or a PBKDF2 password (section 6.2), MAC checks,
bad files refused whole; ``POST /token/export`` and the round trip."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pskc import PSKC
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.tokens.helpers import (
    RFC4226_OTPS,
    RFC_KEY,
    RFC_KEY_HEX,
    assert_error,
    get_token,
    hotp,
    init_token,
    ok,
    totp,
)
from tests.tokens.test_token_load import accepted, token_count

H = dict[str, str]
SEEDS = Path(__file__).parent / "seedfiles"
#: The pre-shared key of RFC 6030 Figure 6 and the password of Figure 7.
RFC_PSK = "12345678901234567890123456789012"
RFC_PASSWORD = "qwerty"
HOTP_URI = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
TOTP_URI = "urn:ietf:params:xml:ns:keyprov:pskc:totp"


def load(client: TestClient, headers: H, text: str | bytes, **params: Any) -> Any:
    raw = text.encode() if isinstance(text, str) else text
    return client.post(
        "/token/load/keys.pskcxml",
        data={"type": "pskc", **params},
        files={"file": ("keys.pskcxml", raw, "application/pskc+xml")},
        headers=headers,
    )


def container(*, psk: str = "", password: str = "", keys: int = 2) -> PSKC:
    """A vendor's file: HOTP keys (RFC 4226's key, counter 3) and a TOTP key (60 s,
    8 digits), encrypted as the RFC's Figures 6 and 7 are when asked."""
    pskc = PSKC()
    for number in range(1, keys):
        pskc.add_key(id=f"k{number}", serial=f"PSKC{number}", algorithm=HOTP_URI,
                     secret=RFC_KEY, counter=3, response_length=6)  # fmt: skip
    pskc.add_key(id="t1", serial="PSKCT", algorithm=TOTP_URI, secret=RFC_KEY,
                 time_interval=60, response_length=8)  # fmt: skip
    if psk:
        pskc.encryption.setup_preshared_key(key=bytes.fromhex(psk))
    elif password:
        pskc.encryption.setup_pbkdf2(password, iterations=1000)
    return pskc


def xml(pskc: PSKC) -> bytes:
    out = io.BytesIO()
    pskc.write(out)
    return out.getvalue()


def test_rfc6030_figure2_a_plain_key(client: TestClient, admin_headers: H) -> None:
    body = ok(load(client, admin_headers, (SEEDS / "rfc6030-figure2.pskcxml").read_text()))
    assert body["result"]["value"] == {"n_imported": 1, "n_not_imported": 0}
    assert get_token(client, admin_headers, "12345678")["tokentype"] == "hotp"
    assert accepted(client, "12345678", hotp(0, b"1234"))


def test_rfc6030_figure10_has_a_device_twice_and_is_refused_whole(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    text = (SEEDS / "rfc6030-figure10.pskcxml").read_text()
    body = assert_error(load(client, admin_headers, text), 400, 905)
    assert body["detail"]["rejected"] == [{
        "where": "KeyPackage 4 (Key Id '4')",
        "reason": "serial '9999999' is also on KeyPackage 3 (Key Id '3')",
        "serial": "9999999",
    }]  # fmt: skip
    assert token_count(services) == 0
    # Without its last package the bulk file imports: 8-digit HOTP (RFC 4226's key).
    trimmed = text[: text.rindex("<KeyPackage>")] + "</KeyContainer>\n"
    ok(load(client, admin_headers, trimmed))
    assert accepted(client, "654321", hotp(0, digits=8))
    assert accepted(client, "9999999", "84755224")  # RFC 4226 counter 0, 8 digits


@pytest.mark.parametrize("protection", ["psk", "password"])
def test_encrypted_keys_with_counters_periods_and_digits(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services, protection: str
) -> None:
    secret = {"psk": RFC_PSK, "password": RFC_PASSWORD}[protection]
    raw = xml(container(**{protection: secret}))
    assert RFC_KEY not in raw and b"MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=" not in raw
    wrong = {"psk": "00" * 16, "password": "wrong"}[protection]
    body = assert_error(load(client, admin_headers, raw, **{protection: wrong}), 400)
    assert "KeyPackage 1" in body["result"]["error"]["message"]
    body = assert_error(load(client, admin_headers, raw), 400)
    assert "pre-shared key or password" in body["result"]["error"]["message"]
    assert token_count(services) == 0
    body = ok(load(client, admin_headers, raw, tokenrealms="realm1", **{protection: secret}))
    assert body["result"]["value"]["n_imported"] == 2
    assert not accepted(client, "PSKC1", RFC4226_OTPS[2])  # below the file's counter 3
    assert accepted(client, "PSKC1", RFC4226_OTPS[3])
    timed = get_token(client, admin_headers, "PSKCT")
    assert timed["info"]["timeStep"] == "60" and timed["otplen"] == 8
    assert timed["realms"] == ["realm1"]
    assert accepted(client, "PSKCT", totp(step=60, digits=8))


def test_mac_checks(client: TestClient, admin_headers: H, services: Services) -> None:
    raw = xml(container(psk=RFC_PSK, keys=3)).decode()
    # The MAC of the first key's secret altered (one base64 character changed).
    start = raw.index("<pskc:ValueMAC>") + len("<pskc:ValueMAC>")
    altered = raw[:start] + ("B" if raw[start] != "B" else "C") + raw[start + 1 :]
    body = assert_error(load(client, admin_headers, altered, psk=RFC_PSK), 400)
    assert (
        "KeyPackage 1 (Key Id 'k1'): the MAC does not match" in body["result"]["error"]["message"]
    )
    assert token_count(services) == 0
    soft = ok(load(client, admin_headers, altered, psk=RFC_PSK, pskcValidateMAC="check_fail_soft"))
    assert soft["result"]["value"] == {"n_imported": 2, "n_not_imported": 1}
    assert soft["detail"]["not_imported"][0]["serial"] == "PSKC1"
    assert token_count(services) == 2
    raw_again = altered.replace("PSKC", "NOMAC")
    body = ok(load(client, admin_headers, raw_again, psk=RFC_PSK, pskcValidateMAC="no_check"))
    assert body["result"]["value"]["n_imported"] == 3


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "<KeyContainer Version='1.0' xmlns='urn:ietf:params:xml:ns:keyprov:pskc'><KeyPa",
            "the file",
        ),
        ("not xml at all", "the file"),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><KeyContainer/>', "the file"),
        (
            "<KeyContainer Version='1.0' xmlns='urn:ietf:params:xml:ns:keyprov:pskc'><KeyPackage>"
            "<Key Id='o1' Algorithm='urn:ietf:params:xml:ns:keyprov:pskc:ocra'><Data><Secret>"
            "<PlainValue>MTIzNA==</PlainValue></Secret></Data></Key></KeyPackage></KeyContainer>",
            "KeyPackage 1 (Key Id 'o1')",
        ),
        (
            "<KeyContainer Version='1.0' xmlns='urn:ietf:params:xml:ns:keyprov:pskc'><KeyPackage>"
            f"<Key Id='n1' Algorithm='{HOTP_URI}'></Key></KeyPackage></KeyContainer>",
            "KeyPackage 1 (Key Id 'n1')",
        ),
    ],
)
def test_broken_files_are_refused_naming_the_element(
    client: TestClient, admin_headers: H, services: Services, text: str, where: str
) -> None:
    body = assert_error(load(client, admin_headers, text), 400)
    assert body["detail"]["rejected"][0]["where"] == where
    assert token_count(services) == 0


def export(client: TestClient, headers: H, serials: str, **params: str) -> Any:
    return client.post("/token/export", data={"serial": serials, **params}, headers=headers)


def test_export_and_import_round_trip(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    init_token(client, admin_headers, type="hotp", serial="RT1", otpkey=RFC_KEY_HEX, otplen=8)
    init_token(client, admin_headers, type="totp", serial="RT2", otpkey=RFC_KEY_HEX,
               timeStep=60, hashlib="sha256")  # fmt: skip
    assert accepted(client, "RT1", hotp(0, digits=8)) and accepted(client, "RT1", hotp(1, digits=8))
    response = export(client, admin_headers, "RT1,RT2", password="export-secret")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/pskc+xml")
    assert RFC_KEY not in response.content and b"PBKDF2" in response.content.upper()
    for serial in ("RT1", "RT2"):
        ok(client.delete(f"/token/{serial}", headers=admin_headers))
    ok(load(client, admin_headers, response.content, password="export-secret",
            tokenrealms="realm1"))  # fmt: skip
    assert not accepted(client, "RT1", hotp(1, digits=8))  # the counter came along
    assert accepted(client, "RT1", hotp(2, digits=8))
    timed = get_token(client, admin_headers, "RT2")
    assert timed["info"]["hashlib"] == "sha256" and timed["info"]["timeStep"] == "60"
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    now = __import__("time").time()
    value = TOTP(RFC_KEY, 6, SHA256(), 60, enforce_key_length=False).generate(now).decode()
    assert accepted(client, "RT2", value)
    # A pre-shared key works too.
    psk = export(client, admin_headers, "RT1", psk=RFC_PSK)
    assert psk.status_code == 200 and b"aes128-cbc" in psk.content


@pytest.mark.parametrize(
    "params",
    [
        {"serial": "RT1"},
        {"serial": "RT1", "psk": RFC_PSK, "password": "x"},
        {"serial": "RT1", "psk": "abc"},
        {"serial": "NOSUCH", "password": "x"},
        {"serial": "SP1", "password": "x"},
        {"serial": "", "password": "x"},
    ],
)
def test_export_refusals(client: TestClient, admin_headers: H, params: dict[str, str]) -> None:
    init_token(client, admin_headers, type="hotp", serial="RT1", otpkey=RFC_KEY_HEX)
    init_token(client, admin_headers, type="spass", serial="SP1", pin="x")
    response = client.post("/token/export", data=params, headers=admin_headers)
    assert response.status_code in (400, 404), response.text
    assert response.json()["result"]["status"] is False
