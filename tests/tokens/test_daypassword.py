"""The ``daypassword`` token: RFC 6238 over a long time step, the current step's value
accepted again and again, other steps' refused; time steps as privacyIDEA writes
them; the enrollment policies ``daypassword_*``."""

from __future__ import annotations

import secrets

import pytest
from starlette.testclient import TestClient

from factorflow.crypto import SecretBox
from factorflow.tokens.base import EnrollContext
from factorflow.tokens.models import Token
from factorflow.tokens.types.daypassword import DayPasswordToken, parse_time_step
from tests import factories
from tests.policies.conftest import policy_data
from tests.tokens.helpers import RFC_KEY, RFC_KEY_HEX, assert_error, check, get_token, hotp, totp

H = dict[str, str]
USER = {"user": "alice", "realm": "realm1"}
DAY = 86400


def offline(**params: object) -> DayPasswordToken:
    row = Token(serial=f"DYPW{secrets.token_hex(4)}", tokentype="daypassword", otp_counter=0)
    token = DayPasswordToken(row, SecretBox(secrets.token_bytes(32)))
    model = DayPasswordToken.InitParams.model_validate({"otpkey": RFC_KEY_HEX, **params})
    token.enroll(model, EnrollContext(serial=row.serial, label="x"))
    return token


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("86400", 86400), ("1d", 86400), ("24h", 86400), ("90m", 5400), ("30s", 30), ("1y", 31536000)],
)
def test_time_steps_as_privacyidea_writes_them(text: str, seconds: int) -> None:
    assert parse_time_step(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "1w", "-5", "1.5h", "367d", "h"])
def test_bad_time_steps(text: str) -> None:
    assert parse_time_step(text) is None


def test_only_the_current_step_counts_and_its_value_again_and_again() -> None:
    token = offline(timeStep="1h")
    assert token.info("timeStep") == "3600"
    now = 1_700_000_000.0
    step = int(now // 3600)
    value = hotp(step)
    for moment in (step * 3600, now, step * 3600 + 3599):
        assert token.check_otp(value, moment).counter == step
    assert not token.check_otp(value, step * 3600 - 1).matched
    assert not token.check_otp(value, (step + 1) * 3600).matched
    assert not token.check_otp(hotp(step + 1), now).matched  # no look-ahead window


def test_enrols_and_is_reused_over_http(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    detail = factories.enrol(
        client, admin_headers, "daypassword", pin="pin", otpkey=RFC_KEY_HEX, **USER
    )
    assert detail["serial"].startswith("DYPW")
    uri = detail["googleurl"]["value"]
    assert uri.startswith("otpauth://daypassword/") and "period=86400" in uri
    today = totp(RFC_KEY, step=DAY)
    for _ in range(3):
        assert check(client, **USER, **{"pass": "pin" + today})["result"]["value"] is True
    yesterday = totp(RFC_KEY, step=DAY, offset_steps=-1)
    assert check(client, **USER, **{"pass": "pin" + yesterday})["result"]["value"] is False
    token = get_token(client, admin_headers, str(detail["serial"]))
    assert token["info"]["timeStep"] == "86400"
    assert "timeStep" in token["readonly_info_keys"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("timeStep", "soon"), ("timeStep", "0"), ("otplen", "7"), ("hashlib", "md5")],
)
def test_bad_enrolment_input_is_refused_and_creates_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str, name: str, value: str
) -> None:
    data = {"type": "daypassword", "pin": "pin", **USER, name: value}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []


def test_admin_policies_force_the_values(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    action = "daypassword_timestep=12h, daypassword_otplen=8, daypassword_hashlib=sha256"
    data = policy_data({"scope": "admin", "action": action})
    factories.ok_value(client.post("/policy/daypw", data=data, headers=admin_headers))
    detail = factories.enrol(client, admin_headers, "daypassword", timeStep="60", **USER)
    token = get_token(client, admin_headers, str(detail["serial"]))
    assert token["info"]["timeStep"] == "43200"
    assert token["info"]["hashlib"] == "sha256"
    assert token["otplen"] == 8
