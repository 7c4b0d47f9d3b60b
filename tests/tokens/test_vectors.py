"""RFC 4226 Appendix D and RFC 6238 Appendix B through the token classes."""

from __future__ import annotations

import secrets

import pytest

from factorflow.crypto import SecretBox
from factorflow.tokens.base import EnrollContext
from factorflow.tokens.models import Token
from factorflow.tokens.types.hotp import HotpToken
from factorflow.tokens.types.paper import PaperToken
from factorflow.tokens.types.totp import TotpToken
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY

KEYS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
#: RFC 6238 Appendix B: (unix time, {hash: 8-digit TOTP}).
RFC6238 = [
    (59, {"sha1": "94287082", "sha256": "46119246", "sha512": "90693936"}),
    (1111111109, {"sha1": "07081804", "sha256": "68084774", "sha512": "25091201"}),
    (1111111111, {"sha1": "14050471", "sha256": "67062674", "sha512": "99943326"}),
    (1234567890, {"sha1": "89005924", "sha256": "91819424", "sha512": "93441116"}),
    (2000000000, {"sha1": "69279037", "sha256": "90698825", "sha512": "38618901"}),
    (20000000000, {"sha1": "65353130", "sha256": "77737706", "sha512": "47863826"}),
]


def new_row(type_name: str) -> Token:
    return Token(
        serial=f"T{secrets.token_hex(4)}", tokentype=type_name, otplen=6, otp_counter=0,
        count_window=10, sync_window=1000, failcount=0, maxfail=10,
    )  # fmt: skip


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(secrets.token_bytes(32))


def enrolled(
    cls: type[HotpToken] | type[TotpToken], box: SecretBox, **params: object
) -> HotpToken | TotpToken:
    token = cls(new_row(cls.type_name), box)
    token.enroll(
        cls.InitParams.model_validate(params), EnrollContext(serial=token.token.serial, label="x")
    )
    return token


@pytest.mark.parametrize("counter", range(10))
def test_hotp_rfc4226_appendix_d(box: SecretBox, counter: int) -> None:
    token = enrolled(HotpToken, box, otpkey=RFC_KEY.hex())
    assert isinstance(token, HotpToken)
    assert token.otp_at(counter) == RFC4226_OTPS[counter]
    token.token.otp_counter = counter
    assert token.check_otp(RFC4226_OTPS[counter], now=0).counter == counter


def test_hotp_window_and_previous_otp(box: SecretBox) -> None:
    token = enrolled(HotpToken, box, otpkey=RFC_KEY.hex())
    token.token.count_window = 5
    assert token.check_otp(RFC4226_OTPS[4], now=0).counter == 4
    assert not token.check_otp(RFC4226_OTPS[5], now=0).matched  # beyond the look-ahead
    token.token.otp_counter = 5
    check = token.check_otp(RFC4226_OTPS[3], now=0)
    assert not check.matched and check.replay
    assert not token.check_otp("12345", now=0).matched
    assert not token.check_otp("abcdef", now=0).matched


def test_hotp_resync_finds_two_consecutive(box: SecretBox) -> None:
    token = enrolled(HotpToken, box, otpkey=RFC_KEY.hex())
    assert token.resync(RFC4226_OTPS[7], RFC4226_OTPS[8], now=0) == 8
    assert token.resync(RFC4226_OTPS[7], RFC4226_OTPS[9], now=0) is None


@pytest.mark.parametrize("hash_name", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize(("moment", "expected"), RFC6238)
def test_totp_rfc6238_appendix_b(
    box: SecretBox, hash_name: str, moment: int, expected: dict[str, str]
) -> None:
    token = enrolled(TotpToken, box, otpkey=KEYS[hash_name].hex(), otplen=8, hashlib=hash_name)
    assert isinstance(token, TotpToken)
    assert token.otp_at_time(moment) == expected[hash_name]
    assert token.check_otp(expected[hash_name], now=moment).counter == moment // 30


@pytest.mark.parametrize("hash_name", ["sha256", "sha512"])
def test_hotp_with_longer_hashes_matches_totp_step(box: SecretBox, hash_name: str) -> None:
    # RFC 6238 is HOTP over the time step: the HOTP class with the same key and
    # hash reproduces the Appendix B values at counter T.
    token = enrolled(HotpToken, box, otpkey=KEYS[hash_name].hex(), otplen=8, hashlib=hash_name)
    assert isinstance(token, HotpToken)
    for moment, expected in RFC6238[:4]:
        assert token.otp_at(moment // 30) == expected[hash_name]


def test_totp_window_and_replay(box: SecretBox) -> None:
    token = enrolled(TotpToken, box, otpkey=RFC_KEY.hex(), otplen=8)
    assert isinstance(token, TotpToken)
    now = 1111111109
    step = now // 30
    assert token.check_otp(token.otp_at_step(step - 6), now).counter == step - 6
    assert not token.check_otp(token.otp_at_step(step - 7), now).matched  # outside ±180 s
    token.token.otp_counter = step
    assert token.check_otp(token.otp_at_step(step), now).replay
    assert token.check_otp(token.otp_at_step(step + 1), now).counter == step + 1


def test_totp_time_step_60(box: SecretBox) -> None:
    token = enrolled(TotpToken, box, otpkey=RFC_KEY.hex(), timeStep="60")
    assert isinstance(token, TotpToken)
    assert token.time_step == 60
    assert token.check_otp(token.otp_at_step(1000), now=60_000 + 59).counter == 1000


def test_paper_token_lists_hotp_values(box: SecretBox) -> None:
    token = PaperToken(new_row("paper"), box)
    detail = token.enroll(
        PaperToken.InitParams.model_validate({"otpkey": RFC_KEY.hex(), "papertoken_count": 10}),
        EnrollContext(serial=token.token.serial, label="x"),
    )
    assert detail == {"otps": {str(i): otp for i, otp in enumerate(RFC4226_OTPS)}}


def test_secret_is_bound_to_the_serial(box: SecretBox) -> None:
    token = enrolled(HotpToken, box, otpkey=RFC_KEY.hex())
    other = HotpToken(new_row("hotp"), box)
    other.token.secret_enc = token.token.secret_enc
    with pytest.raises(Exception, match="could not be decrypted"):
        other.load_secret()
