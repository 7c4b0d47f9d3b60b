"""/validate/check scenarios against the real app with a flat-file realm."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.tokens.helpers import (
    RFC4226_OTPS,
    RFC_KEY,
    RFC_KEY_HEX,
    assert_error,
    check,
    get_token,
    init_token,
    ok,
    totp,
)


def enrol_hotp(client: TestClient, headers: dict[str, str], **extra: Any) -> str:
    params = {
        "type": "hotp",
        "otpkey": RFC_KEY_HEX,
        "pin": "1234",
        "user": "alice",
        "realm": "realm1",
    }
    body = init_token(client, headers, **{**params, **extra})
    serial: str = body["detail"]["serial"]
    return serial


def test_hotp_enrol_and_authenticate(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    body = init_token(
        client,
        admin_headers,
        type="hotp",
        otpkey=RFC_KEY_HEX,
        pin="1234",
        user="alice",
        realm=flatfile_realm,
    )
    detail = body["detail"]
    serial = detail["serial"]
    assert serial.startswith("OATH") and len(serial) == 12
    assert detail["otpkey"]["value"] == f"seed://{RFC_KEY_HEX}"
    assert detail["googleurl"]["value"].startswith("otpauth://hotp/")
    assert detail["googleurl"]["img"].startswith("data:image/png;base64,")
    assert detail["rollout_state"] == "enrolled"

    answer = check(client, user="alice", realm="realm1", **{"pass": "1234" + RFC4226_OTPS[0]})
    assert answer["result"]["value"] is True
    assert answer["result"]["authentication"] == "ACCEPT"
    assert answer["id"] == 2
    assert answer["detail"]["message"] == "matching 1 tokens"
    assert answer["detail"]["serial"] == serial
    assert answer["detail"]["type"] == "hotp"
    assert answer["detail"]["otplen"] == 6

    # The same OTP again is a replay; the next one works; user@realm and the default realm work.
    again = check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]})
    assert again["result"]["value"] is False
    assert again["result"]["authentication"] == "REJECT"
    assert again["detail"]["message"] == "wrong otp value. previous otp used again"
    assert (
        check(client, user="alice@realm1", **{"pass": "1234" + RFC4226_OTPS[1]})["result"]["value"]
        is True
    )

    token = get_token(client, admin_headers, serial)
    assert token["count"] == 2
    assert token["failcount"] == 0  # the replay counted, the success reset it
    assert token["info"]["count_auth_success"] == "2"
    assert token["info"]["count_auth"] == "3"
    assert "last_auth" in token["info"]
    assert token["username"] == "alice" and token["user_realm"] == "realm1"
    assert "secret_enc" not in token and "pin_hash" not in token


def test_wrong_pin_and_wrong_otp(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = enrol_hotp(client, admin_headers)
    wrong_pin = check(client, user="alice", **{"pass": "9999" + RFC4226_OTPS[0]})
    assert wrong_pin["result"]["value"] is False
    assert wrong_pin["detail"]["message"] == "wrong otp pin"
    wrong_otp = check(client, user="alice", **{"pass": "1234000000"})
    assert wrong_otp["detail"]["message"] == "wrong otp value"
    assert wrong_otp["detail"]["serial"] == serial
    # IncFailCountOnFalsePin defaults to true: both attempts count.
    assert get_token(client, admin_headers, serial)["failcount"] == 2


def test_lock_at_maxfail_and_reset(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = enrol_hotp(client, admin_headers)
    assert (
        ok(
            client.post(
                "/token/set", data={"serial": serial, "max_failcount": 3}, headers=admin_headers
            )
        )["result"]["value"]
        == 1
    )
    for _ in range(5):
        check(client, user="alice", **{"pass": "1234111111"})
    token = get_token(client, admin_headers, serial)
    assert token["failcount"] == 3 and token["maxfail"] == 3
    assert "failcounter_exceeded" in token["info"]
    locked = check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]})
    assert locked["result"]["value"] is False
    assert locked["detail"]["message"] == "Failcounter exceeded"

    ok(client.post(f"/token/reset/{serial}", headers=admin_headers))
    token = get_token(client, admin_headers, serial)
    assert token["failcount"] == 0 and "failcounter_exceeded" not in token["info"]
    # A locked token does not consume the OTP, so the same value works after the reset.
    assert (
        check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]})["result"]["value"] is True
    )


def test_success_resets_failcount(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = enrol_hotp(client, admin_headers)
    check(client, user="alice", **{"pass": "1234111111"})
    assert get_token(client, admin_headers, serial)["failcount"] == 1
    assert (
        check(client, serial=serial, **{"pass": "1234" + RFC4226_OTPS[0]})["result"]["value"]
        is True
    )
    assert get_token(client, admin_headers, serial)["failcount"] == 0


def test_disabled_token(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = enrol_hotp(client, admin_headers)
    assert (
        ok(client.post(f"/token/disable/{serial}", headers=admin_headers))["result"]["value"] == 1
    )
    answer = check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]})
    assert answer["detail"]["message"] == "Token is disabled"
    ok(client.post("/token/enable", data={"serial": serial}, headers=admin_headers))
    assert (
        check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]})["result"]["value"] is True
    )


def test_validity_period(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = enrol_hotp(client, admin_headers, validity_period_end="2001-01-01T00:00+0000")
    answer = check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]})
    assert answer["detail"]["message"] == "Outside validity period"
    ok(
        client.post(
            "/token/set",
            data={"serial": serial, "validity_period_end": "2999-01-01T00:00+0100"},
            headers=admin_headers,
        )
    )
    assert (
        check(client, user="alice", **{"pass": "1234" + RFC4226_OTPS[0]})["result"]["value"] is True
    )


def test_totp_enrol_authenticate_replay(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    body = init_token(
        client,
        admin_headers,
        type="totp",
        otpkey=RFC_KEY_HEX,
        pin="pin",
        user="bob",
        realm="realm1",
    )
    serial = body["detail"]["serial"]
    assert serial.startswith("TOTP")
    assert "period=30" in body["detail"]["googleurl"]["value"]
    otp = totp(RFC_KEY)
    assert check(client, user="bob", **{"pass": "pin" + otp})["result"]["value"] is True
    replay = check(client, user="bob", **{"pass": "pin" + otp})
    assert replay["detail"]["message"] == "wrong otp value. previous otp used again"
    # An older code than the last used one is a replay too.
    older = check(client, user="bob", **{"pass": "pin" + totp(RFC_KEY, offset_steps=-1)})
    assert older["result"]["value"] is False
    token = get_token(client, admin_headers, serial)
    assert token["info"]["timeStep"] == "30" and token["info"]["timeShift"] == "0"


def test_totp_drift_updates_time_shift(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = init_token(
        client, admin_headers, type="totp", otpkey=RFC_KEY_HEX, user="bob", realm="realm1"
    )["detail"]["serial"]
    assert (
        check(client, serial=serial, **{"pass": totp(RFC_KEY, offset_steps=2)})["result"]["value"]
        is True
    )
    assert get_token(client, admin_headers, serial)["info"]["timeShift"] == "60"


def test_otponly_with_serial(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = enrol_hotp(client, admin_headers)
    assert (
        check(client, serial=serial, otponly="1", **{"pass": RFC4226_OTPS[0]})["result"]["value"]
        is True
    )


def test_registration_token(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    body = init_token(client, admin_headers, type="registration", user="carol", realm="realm1")
    code = body["detail"]["registrationcode"]
    serial = body["detail"]["serial"]
    assert serial.startswith("REG") and len(code) == 24 and code.isalnum()
    assert check(client, user="carol", **{"pass": "wrong"})["result"]["value"] is False
    answer = check(client, user="carol", **{"pass": code})
    assert answer["result"]["value"] is True
    assert answer["detail"]["serial"] == serial and answer["detail"]["type"] == "registration"
    listed = ok(client.get("/token/", params={"serial": serial}, headers=admin_headers))
    assert listed["result"]["value"]["count"] == 0
    assert (
        check(client, user="carol", **{"pass": code})["detail"]["message"]
        == "The user has no tokens assigned"
    )


def test_paper_token(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    body = init_token(
        client,
        admin_headers,
        type="paper",
        papertoken_count=5,
        user="carol",
        realm="realm1",
        pin="x",
    )
    otps = body["detail"]["otps"]
    assert body["detail"]["serial"].startswith("PPR")
    assert len(otps) == 5 and "otpkey" not in body["detail"]
    assert check(client, user="carol", **{"pass": "x" + otps["2"]})["result"]["value"] is True
    assert check(client, user="carol", **{"pass": "x" + otps["1"]})["result"]["value"] is False
    assert check(client, user="carol", **{"pass": "x" + otps["3"]})["result"]["value"] is True


def test_spass_token(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    body = init_token(
        client, admin_headers, type="spass", pin="static-secret", user="carol", realm="realm1"
    )
    serial = body["detail"]["serial"]
    assert serial.startswith("PISP")
    assert check(client, user="carol", **{"pass": "static-secret"})["result"]["value"] is True
    assert check(client, user="carol", **{"pass": "static-secret"})["result"]["value"] is True
    assert check(client, user="carol", **{"pass": "static"})["detail"]["message"] == "wrong otp pin"
    # otponly never skips the static password.
    assert check(client, serial=serial, otponly="1", **{"pass": ""})["result"]["value"] is False
    assert_error(
        client.post("/token/init", data={"type": "spass", "user": "carol"}, headers=admin_headers),
        400,
        905,
    )


def test_user_without_tokens_and_unknown_user(client: TestClient, flatfile_realm: str) -> None:
    answer = check(client, user="bob", **{"pass": "x"})
    assert answer["result"]["value"] is False
    assert answer["detail"]["message"] == "The user has no tokens assigned"
    unknown = assert_error(
        client.post("/validate/check", data={"user": "nobody", "pass": "x"}), 400, 904
    )
    assert unknown["result"]["error"]["message"].startswith("ERR904: ")


def test_parameter_errors(client: TestClient, flatfile_realm: str) -> None:
    body = assert_error(client.post("/validate/check", data={"pass": "x"}), 400, 905)
    assert (
        body["result"]["error"]["message"]
        == "ERR905: You need to specify a serial, user or credential_id."
    )
    body = assert_error(
        client.get("/validate/check", params={"serial": "OATH*", "pass": "x"}), 400, 905
    )
    assert body["result"]["error"]["message"] == "ERR905: Invalid serial number."
    body = assert_error(
        client.post("/validate/check", json={"user": "al%ce", "pass": "x"}), 400, 905
    )
    assert body["result"]["error"]["message"] == "ERR905: Invalid user."
    assert_error(
        client.post("/validate/check", data={"user": "alice", "pass": "x" * 5000}), 400, 905
    )
    assert_error(client.post("/validate/check", json={"user": ["alice"], "pass": "x"}), 400, 905)


def test_unknown_serial_rejects(client: TestClient, flatfile_realm: str) -> None:
    answer = check(client, serial="OATH00000000", **{"pass": "123456"})
    assert answer["result"]["value"] is False
    assert answer["result"]["authentication"] == "REJECT"


def test_radiuscheck(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    enrol_hotp(client, admin_headers)
    accept = client.post(
        "/validate/radiuscheck", data={"user": "alice", "pass": "1234" + RFC4226_OTPS[0]}
    )
    assert accept.status_code == 204 and accept.content == b""
    reject = client.get(
        "/validate/radiuscheck", params={"user": "alice", "pass": "1234" + RFC4226_OTPS[0]}
    )
    assert reject.status_code == 400 and reject.content == b""


def test_json_number_pass(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = init_token(client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, user="alice")[
        "detail"
    ]["serial"]
    answer = ok(
        client.post("/validate/check", json={"serial": serial, "pass": int(RFC4226_OTPS[0])})
    )
    assert answer["result"]["value"] is True
