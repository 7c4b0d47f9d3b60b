"""The ``yubikey`` token (Yubico OTP, AES mode): Yubico's published test vectors,
the CRC and private-id checks, counters that must strictly increase, the private id
learnt from the first value; bad enrolment input refused."""

from __future__ import annotations

import secrets

import pytest
from starlette.testclient import TestClient

from factorflow.crypto import SecretBox
from factorflow.tokens.base import EnrollContext
from factorflow.tokens.models import Token
from factorflow.tokens.types.yubikey import YubikeyToken, crc16, modhex_decode, modhex_encode
from tests import factories
from tests.tokens.helpers import assert_error, check, get_token, yubikey_otp

H = dict[str, str]
USER = {"user": "alice", "realm": "realm1"}
PUBLIC = "cccccccccccb"
KEY, UID = bytes(range(16)), bytes(range(1, 7))
#: developers.yubico.com/OTP/Specifications/Test_vectors.html: (key, private id,
#: OTP, usage counter, session counter).
VECTORS = [
    (KEY, UID, "dvgtiblfkbgturecfllberrvkinnctnn", 1, 1),
    (KEY, UID, "rnibcnfhdninbrdebccrndfhjgnhftee", 1, 2),
    (KEY, UID, "iikkijbdknrrdhfdrjltvgrbkkjblcbh", 0xFFF, 1),
    (b"\x88" * 16, b"\x88" * 6, "dcihgvrhjeucvrinhdfddbjhfjftjdei", 0x8888, 0x88),
    (bytes.fromhex("c4422890653076cde73d449b191b416a"), bytes.fromhex("33c69e7f249e"),
     "iucvrkjiegbhidrcicvlgrcgkgurhjnj", 1, 0),
]  # fmt: skip


def offline(key: bytes, tokenid: str = "") -> YubikeyToken:
    row = Token(serial=f"UBAM{secrets.token_hex(4)}", tokentype="yubikey", otp_counter=0)
    token = YubikeyToken(row, SecretBox(secrets.token_bytes(32)))
    params = {"otpkey": key.hex(), **({"yubikey.tokenid": tokenid} if tokenid else {})}
    model = YubikeyToken.InitParams.model_validate(params)
    token.enroll(model, EnrollContext(serial=row.serial, label="x"))
    return token


@pytest.mark.parametrize(("key", "uid", "otp", "usage", "session"), VECTORS)
def test_yubicos_test_vectors(key: bytes, uid: bytes, otp: str, usage: int, session: int) -> None:
    token = offline(key, uid.hex())
    assert token.decode(PUBLIC + otp) == (uid.hex(), usage << 8 | session)
    assert token.check_otp(PUBLIC + otp, 0).counter == usage << 8 | session


def test_modhex_and_crc() -> None:
    assert modhex_encode(bytes.fromhex("2f5d71a4915dec304aa13ccf97bb0dbb")) == VECTORS[0][2]
    assert modhex_decode("cbdefghijklnrtuv") == bytes.fromhex("0123456789abcdef")
    assert modhex_decode("cbx1") is None and modhex_decode("cbd") is None
    assert crc16(b"\x01\x02\x03\x04") != crc16(b"\x01\x02\x03\x05")


def test_refused_values() -> None:
    token = offline(KEY, UID.hex())
    good = PUBLIC + VECTORS[0][2]
    assert not token.check_otp(good[:-1] + "c", 0).matched  # CRC fails
    assert not token.check_otp(good[:-1] + "x", 0).matched  # not modhex
    assert not token.check_otp(good[1:], 0).matched  # one character short
    assert not offline(KEY, "0a0b0c0d0e0f").check_otp(good, 0).matched  # another private id
    assert not offline(bytes(16)).check_otp(good, 0).matched  # another key
    token.token.otp_counter = (1 << 8 | 1) + 1  # the vector's counter was used
    assert token.check_otp(good, 0).replay
    assert token.check_otp(PUBLIC + VECTORS[1][2], 0).counter == 1 << 8 | 2  # next session


def test_over_http_counters_strictly_increase_and_the_private_id_is_learnt(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    detail = factories.enrol(client, admin_headers, "yubikey", pin="pin", otpkey=KEY.hex(),
                             **USER)  # fmt: skip
    serial = str(detail["serial"])
    assert serial.startswith("UBAM")

    def login(usage: int, session: int, uid: bytes = UID) -> bool:
        otp = yubikey_otp(KEY, uid, usage=usage, session=session)
        return bool(check(client, **USER, **{"pass": "pin" + otp})["result"]["value"])

    assert login(3, 0)
    assert get_token(client, admin_headers, serial)["info"]["yubikey.tokenid"] == UID.hex()
    assert not login(3, 0)  # replay
    assert not login(2, 7)  # older
    assert login(3, 1)  # next in the session
    assert login(4, 0)  # next session
    assert not login(5, 0, uid=b"\x09" * 6)  # the key's private id is another now


@pytest.mark.parametrize(
    "params",
    [
        {},  # no otpkey
        {"otpkey": "00" * 15},
        {"otpkey": "zz" * 16},
        {"otpkey": KEY.hex(), "otplen": "31"},
        {"otpkey": KEY.hex(), "yubikey.tokenid": "xyz"},
    ],
)
def test_bad_enrolment_input_is_refused_and_creates_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str, params: dict[str, str]
) -> None:
    data = {"type": "yubikey", "pin": "pin", **USER, **params}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []
