"""The ``tan`` token: TANs given or generated, each accepted once in any order, none
stored readable; bad enrolment input is refused and creates nothing."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from tests import factories
from tests.policies.conftest import policy_data
from tests.tokens.helpers import assert_error, check, get_token

H = dict[str, str]
USER = {"user": "alice", "realm": "realm1"}
TANS = ["111111", "222222", "333333", "444444"]


@pytest.fixture
def tan_serial(client: TestClient, admin_headers: H, flatfile_realm: str) -> str:
    detail = factories.enrol(client, admin_headers, "tan", pin="pin", tans=" ".join(TANS), **USER)
    assert "otps" not in detail  # given TANs are not answered back
    return str(detail["serial"])


def accepted(client: TestClient, passw: str) -> bool:
    value: bool = check(client, **USER, **{"pass": passw})["result"]["value"]
    return value


def test_given_tans_work_once_each_in_any_order(
    client: TestClient, admin_headers: H, tan_serial: str
) -> None:
    assert tan_serial.startswith("PITN")
    assert accepted(client, "pin333333")
    assert accepted(client, "pin111111")
    replay = check(client, **USER, **{"pass": "pin333333"})
    assert replay["result"]["value"] is False
    assert replay["detail"]["message"] != "wrong otp value"  # told as a replay
    assert accepted(client, "pin444444")
    assert not accepted(client, "pin555555")
    assert not accepted(client, "wrong222222")  # the PIN still counts
    assert accepted(client, "pin222222")
    token = get_token(client, admin_headers, tan_serial)
    info = json.dumps(token["info"])
    assert not any(tan in info for tan in TANS)
    assert {f"tan.tan{i}" for i in range(4)} <= set(token["readonly_info_keys"])


def test_generated_tans_are_answered_once_and_distinct(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    detail = factories.enrol(
        client, admin_headers, "tan", pin="pin", tantoken_count="20", otplen="8", **USER
    )
    otps = detail["otps"]
    assert sorted(otps, key=int) == [str(i) for i in range(20)]
    assert len(set(otps.values())) == 20 and all(len(t) == 8 for t in otps.values())
    assert accepted(client, "pin" + otps["17"])
    assert accepted(client, "pin" + otps["3"])
    assert not accepted(client, "pin" + otps["17"])
    token = get_token(client, admin_headers, str(detail["serial"]))
    assert not any(tan in json.dumps(token) for tan in otps.values())


def test_tokeninfo_cannot_add_or_strike_out_tans(
    client: TestClient, admin_headers: H, tan_serial: str
) -> None:
    response = client.post(
        f"/token/info/{tan_serial}/tan.tan9", data={"value": "0" * 64}, headers=admin_headers
    )
    assert response.status_code in (400, 403), response.text
    response = client.delete(f"/token/info/{tan_serial}/tan.tan0", headers=admin_headers)
    assert response.status_code in (400, 403), response.text
    assert accepted(client, "pin111111")


def test_reenrolment_replaces_the_list(
    client: TestClient, admin_headers: H, tan_serial: str
) -> None:
    data = {"type": "tan", "serial": tan_serial, "tans": "900000 900001", **USER}
    factories.ok_value(client.post("/token/init", data=data, headers=admin_headers))
    assert not accepted(client, "pin111111")
    assert accepted(client, "pin900001")
    info = get_token(client, admin_headers, tan_serial)["info"]
    assert sorted(k for k in info if k.startswith("tan.tan")) == ["tan.tan0", "tan.tan1"]


@pytest.mark.parametrize(
    "tans",
    [
        "123456 1234567",  # two lengths: pass could not be split
        "123456 123456",  # twice
        "123",  # too short
        " ".join(str(100000 + i) for i in range(1001)),  # too many
    ],
)
def test_bad_tans_are_refused_and_create_nothing(
    client: TestClient, admin_headers: H, flatfile_realm: str, tans: str
) -> None:
    data = {"type": "tan", "pin": "pin", "tans": tans, **USER}
    assert_error(client.post("/token/init", data=data, headers=admin_headers), 400)
    tokens = factories.ok_value(client.get("/token/", headers=admin_headers))["tokens"]
    assert tokens == []


def test_the_enrollment_policy_sets_the_number_of_tans(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    data = policy_data({"scope": "enrollment", "action": {"tantoken_count": "7"}})
    factories.ok_value(client.post("/policy/tans", data=data, headers=admin_headers))
    detail = factories.enrol(client, admin_headers, "tan", tantoken_count="20", **USER)
    assert len(detail["otps"]) == 7
