"""``POST /token/load/<filename>`` with OATH CSV and Yubikey CSV files: the tokens
validate with the RFC 4226 / 6238 values and Yubico's OTP format; a bad file is
refused naming its lines and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from factorflow.tokens.models import Token
from tests.tokens.helpers import (
    RFC4226_OTPS,
    RFC_KEY,
    RFC_KEY_HEX,
    assert_error,
    check,
    get_token,
    hotp,
    ok,
    totp,
    yubikey_otp,
)

H = dict[str, str]
#: RFC 6238 Appendix B's SHA-256 key (32 bytes: the OATH CSV rule makes it SHA-256).
SHA256_KEY = b"12345678901234567890123456789012"


def load(
    client: TestClient, headers: H, text: str, file_type: str = "oathcsv", **params: Any
) -> Any:
    return client.post(
        "/token/load/seeds.csv",
        data={"type": file_type, **params},
        files={"file": ("seeds.csv", text.encode(), "text/plain")},
        headers=headers,
    )


def accepted(client: TestClient, serial: str, otp: str) -> bool:
    return bool(check(client, serial=serial, **{"pass": otp})["result"]["value"])


def token_count(services: Services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Token)) or 0)


def test_oath_csv_imports_hotp_and_totp_into_realms(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    text = "\n".join([
        "# a comment, then a blank line", "",
        f"CSV1, {RFC_KEY_HEX}",
        f"CSV2, {RFC_KEY_HEX}, hotp, 8",
        f"CSV3, {RFC_KEY_HEX}, totp, 6, 30",
        f"CSV4, {SHA256_KEY.hex()}, TOTP, 8, 60",
    ])  # fmt: skip
    body = ok(load(client, admin_headers, text, tokenrealms="realm1"))
    assert body["result"]["value"] == {"n_imported": 4, "n_not_imported": 0}
    first = get_token(client, admin_headers, "CSV1")
    assert first["tokentype"] == "hotp" and first["realms"] == ["realm1"]
    assert first["info"]["tokenkind"] == "hardware" and "import_date" in first["info"]
    assert accepted(client, "CSV1", RFC4226_OTPS[0])
    assert not accepted(client, "CSV1", RFC4226_OTPS[0])  # replay
    assert accepted(client, "CSV2", hotp(0, digits=8))
    assert accepted(client, "CSV3", totp())
    fourth = get_token(client, admin_headers, "CSV4")
    assert fourth["info"]["hashlib"] == "sha256" and fourth["info"]["timeStep"] == "60"
    with services.sessions() as session:
        row = session.scalars(select(Token).where(Token.serial == "CSV1")).one()
        assert RFC_KEY_HEX not in row.secret_enc and RFC_KEY.decode() not in row.secret_enc
        assert abs(row.created_at - datetime.now(UTC)) < timedelta(minutes=5)
        assert row.active and not row.revoked and row.failcount == 0 and row.pin_hash == ""


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("BAD1, 31zz", "not hexadecimal"),
        ("BAD1", "no key"),
        (f"BAD1, {RFC_KEY_HEX}, ocra, OCRA-1:HOTP-SHA1-6:QN08", "unknown token type"),
        (f"BAD1, {RFC_KEY_HEX}, hotp, 7", "OTP length"),
        (f"BAD1, {RFC_KEY_HEX}, totp, 6, 45", "time step"),
        (f"BAD1, {RFC_KEY_HEX}, hotp, six", "not a number"),
        (f"bad serial!, {RFC_KEY_HEX}", "invalid serial"),
        (f"CSV1, {RFC_KEY_HEX}", "also on line 1"),
    ],
)
def test_a_bad_line_refuses_the_file_naming_it_and_nothing_is_imported(
    client: TestClient, admin_headers: H, services: Services, line: str, reason: str
) -> None:
    text = f"CSV1, {RFC_KEY_HEX}\n{line}\nCSV9, {RFC_KEY_HEX}\n"
    body = assert_error(load(client, admin_headers, text), 400, 905)
    message = body["result"]["error"]["message"]
    assert "line 2" in message and reason in message, message
    assert body["detail"]["rejected"][0]["where"] == "line 2"
    assert token_count(services) == 0


def test_every_rejected_line_is_reported(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    text = "\n".join(f"T{i}, {'zz' if i % 2 else RFC_KEY_HEX}" for i in range(10))
    body = assert_error(load(client, admin_headers, text), 400)
    assert body["detail"]["n_rejected"] == 5
    assert [r["where"] for r in body["detail"]["rejected"]] == [
        f"line {i}" for i in (2, 4, 6, 8, 10)
    ]
    assert "and 4 more" in body["result"]["error"]["message"]
    assert token_count(services) == 0


def test_a_serial_that_exists_is_refused_and_the_token_is_kept(
    client: TestClient, admin_headers: H, services: Services
) -> None:
    ok(load(client, admin_headers, f"CSV1, {RFC_KEY_HEX}"))
    other = SHA256_KEY.hex()
    body = assert_error(load(client, admin_headers, f"NEW1, {other}\nCSV1, {other}"), 400)
    assert "line 2: a token with serial 'CSV1' exists already" in body["result"]["error"]["message"]
    assert token_count(services) == 1
    assert accepted(client, "CSV1", RFC4226_OTPS[0])  # the old key still works


@pytest.mark.parametrize(
    ("params", "text", "status"),
    [
        ({"type": "aladdin-xml"}, "<Tokens/>", 400),
        ({"type": "nonsense"}, "x", 400),
        ({"type": "oathcsv"}, "   \n", 400),
        ({"type": "oathcsv"}, "# only a comment\n", 400),
        ({"type": "oathcsv", "tokenrealms": "nosuchrealm"}, f"X1, {RFC_KEY_HEX}", 404),
        ({"type": "oathcsv"}, "# version: 3\nX1, 3132", 400),
        ({"type": "pskc", "pskcValidateMAC": "sometimes"}, "<x/>", 400),
        ({"type": "pskc", "psk": "1234"}, "<x/>", 400),
    ],
)
def test_bad_requests_are_refused(
    client: TestClient,
    admin_headers: H,
    services: Services,
    params: dict[str, str],
    text: str,
    status: int,
) -> None:
    response = client.post(
        "/token/load/f", data=params, files={"file": ("f", text.encode())}, headers=admin_headers
    )
    assert_error(response, status)
    assert token_count(services) == 0


def test_missing_file_binary_file_and_users_are_refused(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    assert_error(client.post("/token/load/f", data={"type": "oathcsv"}, headers=admin_headers), 400)
    binary = client.post("/token/load/f", data={"type": "oathcsv"},
                         files={"file": ("f", b"\xff\xfe\x00")}, headers=admin_headers)  # fmt: skip
    assert_error(binary, 400)
    from tests.conftest import user_headers

    as_user = load(client, user_headers(client, "alice"), f"U1, {RFC_KEY_HEX}")
    assert as_user.status_code in (401, 403)
    assert token_count(services) == 0


def test_oath_csv_version_2_assigns_the_users(
    client: TestClient, admin_headers: H, flatfile_realm: str, services: Services
) -> None:
    text = f"# version: 2\nalice, resolver1, realm1, V2A, {RFC_KEY_HEX}\nbob, , realm1, V2B, {RFC_KEY_HEX}, totp"
    ok(load(client, admin_headers, text))
    assert get_token(client, admin_headers, "V2A")["username"] == "alice"
    assert get_token(client, admin_headers, "V2B")["username"] == "bob"
    body = ok(client.post("/validate/check", data={"user": "alice", "realm": "realm1",
                                                   "pass": RFC4226_OTPS[0]}))  # fmt: skip
    assert body["result"]["value"] is True
    unknown = f"# version: 2\nnobody, resolver1, realm1, V2C, {RFC_KEY_HEX}"
    body = assert_error(load(client, admin_headers, unknown), 400)
    assert body["detail"]["rejected"][0]["where"] == "line 2"
    wrong_store = f"# version: 2\ncarol, otherresolver, realm1, V2D, {RFC_KEY_HEX}"
    assert_error(load(client, admin_headers, wrong_store), 400)
    assert token_count(services) == 2


YUBI_KEY, YUBI_UID = bytes(range(16)), bytes(range(1, 7))
HMAC_KEY = bytes(range(20))


def test_yubikey_csv_in_both_layouts(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    public = "vvgutbiedkvi"
    text = "\n".join([
        f"Yubico OTP,12/11/2013 11:10,1,{public},{YUBI_UID.hex()},{YUBI_KEY.hex()},,,0,0,0,0,0,0,0,0,0,0",
        f"OATH-HOTP,11.12.13 18:55,2,cccccccccccc,,{HMAC_KEY.hex()},,,0,0,0,6,0,0,0,0,0,0",
        "# Yubico's layout",
        f"508326,cccccccccccb,{YUBI_UID.hex()},{YUBI_KEY.hex()},,2013-12-12T08:43:17,",
        f"1382042,,0,{RFC_KEY_HEX},,2013-12-12T08:41:17,",
    ])  # fmt: skip
    body = ok(load(client, admin_headers, text, "Yubikey CSV", tokenrealms="realm1"))
    assert body["result"]["value"]["n_imported"] == 4
    serial = f"UBAM{public}_1"
    assert get_token(client, admin_headers, serial)["tokentype"] == "yubikey"
    otp = yubikey_otp(YUBI_KEY, YUBI_UID, usage=1, session=1, public_id=public)
    assert accepted(client, serial, otp) and not accepted(client, serial, otp)
    assert accepted(client, "UBOMcccccccccccc_2", hotp(0, HMAC_KEY))
    otp = yubikey_otp(YUBI_KEY, YUBI_UID, usage=2, session=0)
    assert accepted(client, "UBAM00508326_1", otp)
    assert accepted(client, "UBOM01382042_1", RFC4226_OTPS[0])


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("508326,,,9e2fd386224a7f77e9b5aee775464033,,2013-12-12T08:44:34,", "static"),
        (f"Yubico OTP,x,1,notmodhex!,{YUBI_UID.hex()},{YUBI_KEY.hex()}", "modhex"),
        (f"Yubico OTP,x,1,cccccccccccb,12,{YUBI_KEY.hex()}", "private id"),
        (f"Yubico OTP,x,1,cccccccccccb,{YUBI_UID.hex()},00ff", "16 bytes"),
        (
            "Static Password,11.12.13 19:08,1,,d5a3d50327dc,0e8e37b0e38b314a56748c030f58d21d",
            "no OTP",
        ),
    ],
)
def test_bad_yubikey_lines(
    client: TestClient, admin_headers: H, services: Services, line: str, reason: str
) -> None:
    text = f"1382042,,0,{RFC_KEY_HEX},,2013-12-12T08:41:17,\n{line}"
    body = assert_error(load(client, admin_headers, text, "yubikeycsv"), 400)
    assert "line 2" in body["result"]["error"]["message"] and reason in str(body)
    assert token_count(services) == 0
