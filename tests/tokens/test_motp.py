"""The ``motp`` token: the mOTP reference values, the window of count_window x 2
ten-second steps either side, replays refused, bad enrolment input refused."""

from __future__ import annotations

import json
import secrets
import time

import pytest
from starlette.testclient import TestClient

from factorflow.crypto import SecretBox
from factorflow.tokens.base import EnrollContext
from factorflow.tokens.models import Token
from factorflow.tokens.types.motp import MotpToken, motp_value
from tests import factories
from tests.tokens.helpers import assert_error, check, get_token

H = dict[str, str]
USER = {"user": "alice", "realm": "realm1"}
#: Values of the mOTP algorithm (motp.sourceforge.net) as other implementations test
#: it: (unix time, secret, PIN, value).
VECTORS = [
    (165892298, "e3152afee62599c8", "1234", "e7d8b6"),
    (123456789, "e3152afee62599c8", "1234", "4ebfb2"),
    (1659540020, "bbb1912bb5c515be", "9999", "ced7b1"),
    (1659540022, "bbb1912bb5c515be", "9999", "ced7b1"),
    (1659539870, "bbb1912bb5c515be", "9999", "1a14f8"),
    (1659539878, "bbb1912bb5c515be", "9999", "1a14f8"),  # rounds down
]


def offline(secret: str, pin: str) -> MotpToken:
    row = Token(serial=f"PIMO{secrets.token_hex(4)}", tokentype="motp", otp_counter=0,
                count_window=10)  # fmt: skip
    token = MotpToken(row, SecretBox(secrets.token_bytes(32)))
    model = MotpToken.InitParams.model_validate({"otpkey": secret, "motppin": pin})
    token.enroll(model, EnrollContext(serial=row.serial, label="x"))
    return token


@pytest.mark.parametrize(("now", "secret", "pin", "value"), VECTORS)
def test_reference_values(now: int, secret: str, pin: str, value: str) -> None:
    assert motp_value(secret, pin, now // 10) == value
    assert offline(secret, pin).check_otp(value, float(now)).counter == now // 10


def test_window_and_replays() -> None:
    now, secret, pin, value = 1659540020.0, "bbb1912bb5c515be", "9999", "ced7b1"
    token = offline(secret, pin)
    step = int(now // 10)
    assert token.check_otp(value, now + 200).counter == step  # 20 steps later: still in
    assert not token.check_otp(value, now + 210).matched
    assert token.check_otp(value, now - 200).counter == step
    assert not token.check_otp(value, now - 210).matched
    assert not token.check_otp(value.upper(), now).matched  # as the app shows it, hex
    assert not offline(secret, "9998").check_otp(value, now).matched
    token.token.otp_counter = step  # used
    assert token.check_otp(value, now).replay
    assert token.check_otp(motp_value(secret, pin, step - 3), now).replay  # older
    assert token.check_otp(motp_value(secret, pin, step + 1), now).counter == step + 1


def current(secret: str, pin: str, offset: int = 0) -> str:
    return motp_value(secret, pin, int(time.time() // 10) + offset)


def test_enrols_and_validates_over_http(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    detail = factories.enrol(client, admin_headers, "motp", pin="pin", genkey="1",
                             motppin="4711", **USER)  # fmt: skip
    serial = str(detail["serial"])
    assert serial.startswith("PIMO")
    url = detail["motpurl"]["value"]
    assert url.startswith("motp://") and "secret=" in url
    secret = url.split("secret=", 1)[1]
    assert len(secret) == 32
    value = current(secret, "4711")
    assert check(client, **USER, **{"pass": "pin" + value})["result"]["value"] is True
    assert check(client, **USER, **{"pass": "pin" + value})["result"]["value"] is False
    assert (
        check(client, **USER, **{"pass": "pin" + current(secret, "4711", -1)})["result"]["value"]
        is False
    )  # older than the one used
    token = get_token(client, admin_headers, serial)
    assert secret not in json.dumps(token) and "4711" not in json.dumps(token)


@pytest.mark.parametrize(
    "params",
    [
        {"otpkey": "e3152afee62599c8"},  # no motppin
        {"otpkey": "e3152afee62599c8", "motppin": ""},
        {"otpkey": "e315 2afe", "motppin": "1234"},
        {"otpkey": "e3152afee62599c8", "motppin": "12 34"},
        {"otpkey": "e3152afee62599c8", "genkey": "1", "motppin": "1234"},
    ],
)
def test_bad_enrolment_input_is_refused_and_creates_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str, params: dict[str, str]
) -> None:
    data = {"type": "motp", "pin": "pin", **USER, **params}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []
