"""The ``applspec`` token: used only by requests naming its service (ignoring case),
left out of all others without a PIN check or a failure counted; a generated
password shown once; bad enrolment input refused."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from tests import factories
from tests.policies.conftest import policy_data
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, assert_error, check, get_token

H = dict[str, str]
USER = {"user": "alice", "realm": "realm1"}


def value(client: TestClient, **params: str) -> bool:
    result: bool = check(client, **USER, **params)["result"]["value"]
    return result


def test_only_requests_for_its_service_use_it(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    detail = factories.enrol(client, admin_headers, "applspec", pin="pin", otpkey="mail-pw-1",
                             service_id="MailServer", **USER)  # fmt: skip
    serial = str(detail["serial"])
    assert serial.startswith("ASPW") and "password" not in detail
    factories.enrol(client, admin_headers, "hotp", pin="hpin", otpkey=RFC_KEY_HEX, **USER)
    assert value(client, **{"pass": "pinmail-pw-1", "service_id": "mailserver"})
    assert value(client, **{"pass": "pinmail-pw-1", "service_id": "MAILSERVER"})  # again
    assert not value(client, **{"pass": "pinmail-pw-1"})
    assert not value(client, **{"pass": "pinmail-pw-1", "service_id": "owncloud"})
    token = get_token(client, admin_headers, serial)
    assert token["failcount"] == 0  # left out: nothing counted
    assert token["info"]["service_id"] == "MailServer"
    assert "service_id" in token["readonly_info_keys"]
    # the user's other tokens work with or without a service_id
    assert value(client, **{"pass": "hpin" + RFC4226_OTPS[0], "service_id": "mailserver"})
    assert value(client, **{"pass": "hpin" + RFC4226_OTPS[1]})


def test_alone_without_service_id_there_is_no_suitable_token(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    factories.enrol(client, admin_headers, "applspec", pin="pin", otpkey="pw-2",
                    service_id="vpn", **USER)  # fmt: skip
    body = check(client, **USER, **{"pass": "pinpw-2"})
    assert body["result"]["value"] is False


def test_a_generated_password_is_shown_once(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    detail = factories.enrol(client, admin_headers, "applspec", pin="pin", genkey="1",
                             service_id="owncloud", **USER)  # fmt: skip
    password = str(detail["password"])
    assert len(password) == 23 and password.isalnum()
    token = get_token(client, admin_headers, str(detail["serial"]))
    assert password not in json.dumps(token)
    assert value(client, **{"pass": "pin" + password, "service_id": "owncloud"})


@pytest.mark.parametrize(
    "params",
    [
        {"otpkey": "pw"},  # no service_id
        {"otpkey": "pw", "service_id": "  "},
        {"service_id": "mail"},  # neither otpkey nor genkey
        {"service_id": "mail", "otpkey": "pw", "genkey": "1"},
        {"service_id": "m" * 256, "otpkey": "pw"},
    ],
)
def test_bad_enrolment_input_is_refused_and_creates_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str, params: dict[str, str]
) -> None:
    data = {"type": "applspec", "pin": "pin", **USER, **params}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    assert factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"] == []


def test_reset_all_user_tokens_resets_it_too(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    data = policy_data({"scope": "authentication", "action": {"reset_all_user_tokens": True}})
    factories.ok_value(client.post("/policy/reset", data=data, headers=admin_headers))
    detail = factories.enrol(client, admin_headers, "applspec", pin="pin", otpkey="pw-3",
                             service_id="vpn", **USER)  # fmt: skip
    serial = str(detail["serial"])
    factories.enrol(client, admin_headers, "hotp", pin="hpin", otpkey=RFC_KEY_HEX, **USER)
    assert not value(client, **{"pass": "pinwrong", "service_id": "vpn"})
    assert get_token(client, admin_headers, serial)["failcount"] == 1
    assert value(client, **{"pass": "hpin" + RFC4226_OTPS[0]})  # no service_id
    assert get_token(client, admin_headers, serial)["failcount"] == 0
