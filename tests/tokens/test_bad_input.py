"""Bad input to every token endpoint: a 4xx envelope, never a 500, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.tokens.helpers import RFC_KEY_HEX, assert_error, init_token, ok

HUGE = "9" * 40
LONG = "x" * 20_000

#: (method, path, params, expected status)
CASES: list[tuple[str, str, dict[str, Any], int]] = [
    ("POST", "/token/init", {"type": "nosuchtype"}, 400),
    ("POST", "/token/init", {"otplen": 7}, 400),
    ("POST", "/token/init", {"otplen": HUGE}, 400),
    ("POST", "/token/init", {"hashlib": "md5"}, 400),
    ("POST", "/token/init", {"otpkey": "zz"}, 400),
    ("POST", "/token/init", {"otpkey": "0"}, 400),  # odd hex; short keys are privacyIDEA-valid
    ("POST", "/token/init", {"type": "totp", "timeStep": 45}, 400),
    ("POST", "/token/init", {"type": "paper", "papertoken_count": 100000}, 400),
    ("POST", "/token/init", {"serial": "BAD*SERIAL"}, 400),
    ("POST", "/token/init", {"serial": "has space"}, 400),
    ("POST", "/token/init", {"description": LONG}, 400),
    ("POST", "/token/init", {"user": "nobody"}, 400),
    ("POST", "/token/init", {"tokenrealm": "nosuchrealm"}, 404),
    ("POST", "/token/init", {"validity_period_end": "tomorrow"}, 400),
    ("POST", "/token/init", {"2stepinit": "1"}, 400),
    ("GET", "/token/", {"pagesize": 5000}, 400),
    ("GET", "/token/", {"page": 0}, 400),
    ("GET", "/token/", {"page": HUGE}, 400),
    ("GET", "/token/", {"sortdir": "sideways"}, 400),
    ("GET", "/token/", {"user": "nobody"}, 400),
    ("POST", "/token/assign", {"serial": "{serial}"}, 400),
    ("POST", "/token/assign", {"user": "alice"}, 400),
    ("POST", "/token/assign", {"serial": "NOPE0000", "user": "alice"}, 404),
    ("POST", "/token/assign", {"serial": "{serial}", "user": "nobody"}, 400),
    ("POST", "/token/unassign", {}, 400),
    ("POST", "/token/unassign", {"serial": "NOPE0000"}, 404),
    ("POST", "/token/enable", {}, 400),
    ("POST", "/token/enable/NOPE0000", {}, 404),
    ("POST", "/token/disable", {"serial": "*"}, 400),
    ("POST", "/token/disable", {"serial": "OATH*"}, 400),
    ("POST", "/token/disable", {"serial": LONG}, 400),
    ("DELETE", "/token/", {}, 400),
    ("DELETE", "/token/NOPE0000", {}, 404),
    ("DELETE", "/token/", {"serial": "{serial},NOPE0000"}, 404),
    ("POST", "/token/reset", {}, 400),
    ("POST", "/token/reset/NOPE0000", {}, 404),
    ("POST", "/token/resync/{serial}", {"otp1": "123456"}, 400),
    ("POST", "/token/resync/{serial}", {"otp1": HUGE, "otp2": HUGE}, 400),
    ("POST", "/token/resync/NOPE0000", {"otp1": "1", "otp2": "2"}, 404),
    ("POST", "/token/setpin/{serial}", {}, 400),
    ("POST", "/token/setpin/NOPE0000", {"otppin": "1"}, 404),
    ("POST", "/token/set/{serial}", {"count_window": HUGE}, 400),
    ("POST", "/token/set/{serial}", {"count_window": "ten"}, 400),
    ("POST", "/token/set/{serial}", {"max_failcount": -1}, 400),
    ("POST", "/token/set/{serial}", {"hashlib": "md5"}, 400),
    ("POST", "/token/set/{serial}", {"validity_period_start": "2020-13-45"}, 400),
    ("POST", "/token/set/NOPE0000", {"description": "x"}, 404),
    ("POST", "/token/description", {"serial": "{serial}"}, 400),
    ("POST", "/token/description/NOPE0000", {"description": "x"}, 404),
    ("POST", "/token/realm/{serial}", {"realms": "nosuchrealm"}, 404),
    ("POST", "/token/realm/NOPE0000", {"realms": ""}, 404),
    ("POST", "/token/info/{serial}/timeStep", {"value": "1"}, 403),
    ("POST", "/token/info/{serial}/k", {"value": LONG}, 400),
    ("POST", "/token/info/NOPE0000/k", {"value": "v"}, 404),
    ("DELETE", "/token/info/NOPE0000/k", {}, 404),
    ("POST", "/token/group/{serial}/nosuchgroup", {}, 404),
    ("POST", "/token/group/NOPE0000/g", {}, 404),
    ("DELETE", "/token/group/{serial}/nosuchgroup", {}, 404),
    ("POST", "/tokengroup/bad*name", {}, 400),
    ("POST", "/tokengroup/g", {"description": LONG}, 400),
    ("DELETE", "/tokengroup/nosuchgroup", {}, 404),
]


def snapshot(client: TestClient, headers: dict[str, str]) -> Any:
    tokens = ok(client.get("/token/", params={"pagesize": 1000}, headers=headers))["result"][
        "value"
    ]
    groups = ok(client.get("/tokengroup/", headers=headers))["result"]["value"]
    return tokens, groups


@pytest.mark.parametrize(("method", "path", "params", "status"), CASES)
def test_bad_input_is_a_clean_4xx(
    client: TestClient,
    admin_headers: dict[str, str],
    flatfile_realm: str,
    method: str,
    path: str,
    params: dict[str, Any],
    status: int,
) -> None:
    serial = init_token(client, admin_headers, serial="GOOD0001", otpkey=RFC_KEY_HEX, type="totp")[
        "detail"
    ]["serial"]
    path = path.replace("{serial}", serial)
    params = {
        k: (v.replace("{serial}", serial) if isinstance(v, str) else v) for k, v in params.items()
    }
    before = snapshot(client, admin_headers)
    if method == "GET":
        response = client.get(path, params=params, headers=admin_headers)
    elif method == "DELETE":
        response = client.request("DELETE", path, params=params, headers=admin_headers)
    else:
        response = client.post(path, data=params, headers=admin_headers)
    assert_error(response, status)
    assert snapshot(client, admin_headers) == before


def test_json_wrong_types(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    init_token(client, admin_headers, serial="GOOD0002", genkey=1)
    before = snapshot(client, admin_headers)
    for body in (
        {"serial": ["a", "b"]},
        {"serial": {"x": 1}},
        {"otppin": None, "serial": "GOOD0002"},
    ):
        assert_error(client.post("/token/setpin", json=body, headers=admin_headers), 400, 905)
    assert_error(
        client.post("/token/set/GOOD0002", json={"count_window": [1]}, headers=admin_headers),
        400,
        905,
    )
    assert_error(
        client.post("/token/init", json={"genkey": 1, "otplen": {"a": 1}}, headers=admin_headers),
        400,
        905,
    )
    assert snapshot(client, admin_headers) == before
