"""A user-role JWT reaches only its own tokens, and only self-service operations."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import user_headers
from tests.tokens.helpers import (
    RFC4226_OTPS,
    RFC_KEY_HEX,
    assert_error,
    check,
    get_token,
    init_token,
    ok,
)


@pytest.fixture
def setup(client: TestClient, admin_headers: dict[str, str], flatfile_realm: str) -> dict[str, str]:
    alice = init_token(client, admin_headers, otpkey=RFC_KEY_HEX, user="alice", pin="a")["detail"][
        "serial"
    ]
    bob = init_token(client, admin_headers, otpkey=RFC_KEY_HEX, user="bob", pin="b")["detail"][
        "serial"
    ]
    return {"alice": alice, "bob": bob}


def test_user_lists_only_own_tokens(
    client: TestClient, admin_headers: dict[str, str], setup: dict[str, str]
) -> None:
    headers = user_headers(client, "alice")
    for params in (
        {},
        {"user": "bob"},
        {"serial": setup["bob"]},
        {"user": "bob", "realm": "realm1"},
        {"serial": "*"},
    ):
        tokens = ok(client.get("/token/", params=params, headers=headers))["result"]["value"][
            "tokens"
        ]
        assert {t["serial"] for t in tokens} <= {setup["alice"]}, params
    assert ok(client.get("/token/", headers=headers))["result"]["value"]["count"] == 1


def test_user_cannot_touch_other_users_token(
    client: TestClient, admin_headers: dict[str, str], setup: dict[str, str]
) -> None:
    headers = user_headers(client, "alice")
    bob = setup["bob"]
    before = get_token(client, admin_headers, bob)
    assert_error(client.post(f"/token/disable/{bob}", headers=headers), 404, 601)
    assert_error(client.post("/token/disable", data={"serial": bob}, headers=headers), 404, 601)
    assert_error(client.delete(f"/token/{bob}", headers=headers), 404, 601)
    assert_error(
        client.post(f"/token/setpin/{bob}", data={"otppin": "x"}, headers=headers), 404, 601
    )
    assert_error(
        client.post(f"/token/set/{bob}", data={"description": "mine"}, headers=headers), 404, 601
    )
    assert_error(
        client.post(
            "/token/description", data={"serial": bob, "description": "mine"}, headers=headers
        ),
        404,
        601,
    )
    assert_error(
        client.post(f"/token/resync/{bob}", data={"otp1": "1", "otp2": "2"}, headers=headers),
        404,
        601,
    )
    # An unknown serial looks exactly the same.
    unknown = assert_error(client.post("/token/disable/OATHFFFFFFFF", headers=headers), 404, 601)
    other = assert_error(client.post(f"/token/disable/{bob}", headers=headers), 404, 601)
    assert unknown["result"]["error"] == other["result"]["error"]
    # user/realm parameters cannot redirect the action to bob.
    ok(client.post("/token/disable", data={"user": "bob", "realm": "realm1"}, headers=headers))
    after = get_token(client, admin_headers, bob)
    assert after == before
    assert get_token(client, admin_headers, setup["alice"])["active"] is False
    assert check(client, user="bob", **{"pass": "b" + RFC4226_OTPS[0]})["result"]["value"] is True


def test_user_self_service_on_own_token(
    client: TestClient, admin_headers: dict[str, str], setup: dict[str, str]
) -> None:
    headers = user_headers(client, "alice")
    mine = setup["alice"]
    assert ok(client.post(f"/token/disable/{mine}", headers=headers))["result"]["value"] == 1
    assert ok(client.post(f"/token/enable/{mine}", headers=headers))["result"]["value"] == 1
    ok(client.post(f"/token/setpin/{mine}", data={"otppin": "new"}, headers=headers))
    ok(client.post(f"/token/set/{mine}", data={"description": "my phone"}, headers=headers))
    assert get_token(client, admin_headers, mine)["description"] == "my phone"
    assert (
        check(client, user="alice", **{"pass": "new" + RFC4226_OTPS[0]})["result"]["value"] is True
    )
    # Admin-only operations are refused even on the user's own token.
    assert_error(
        client.post(f"/token/set/{mine}", data={"max_failcount": 100}, headers=headers), 403, 303
    )
    assert_error(client.post(f"/token/reset/{mine}", headers=headers), 403, 303)
    assert_error(
        client.post(f"/token/info/{mine}/k", data={"value": "v"}, headers=headers), 403, 303
    )
    assert_error(
        client.post("/token/assign", data={"serial": mine, "user": "bob"}, headers=headers),
        403,
        303,
    )
    assert_error(client.post("/token/unassign", data={"serial": mine}, headers=headers), 403, 303)
    assert_error(
        client.post(f"/token/realm/{mine}", data={"realms": ""}, headers=headers), 403, 303
    )
    assert_error(client.get("/tokengroup/", headers=headers), 401, 4306)
    assert get_token(client, admin_headers, mine)["maxfail"] == 10
    assert ok(client.delete(f"/token/{mine}", headers=headers))["result"]["value"] == 1


def test_user_enrols_for_itself_only(
    client: TestClient, admin_headers: dict[str, str], setup: dict[str, str]
) -> None:
    headers = user_headers(client, "carol")
    body = ok(
        client.post(
            "/token/init", data={"type": "totp", "genkey": 1, "user": "bob"}, headers=headers
        )
    )
    token = get_token(client, admin_headers, body["detail"]["serial"])
    assert token["username"] == "carol"
    assert_error(
        client.post("/token/init", data={"type": "spass", "pin": "x"}, headers=headers), 403, 303
    )
    assert_error(
        client.post("/token/init", data={"type": "registration"}, headers=headers), 403, 303
    )
    # Re-enrolling someone else's serial is refused and changes nothing.
    assert_error(
        client.post("/token/init", data={"serial": setup["bob"], "genkey": 1}, headers=headers),
        403,
        303,
    )
    assert check(client, user="bob", **{"pass": "b" + RFC4226_OTPS[0]})["result"]["value"] is True


def test_no_jwt(client: TestClient, setup: dict[str, str]) -> None:
    assert_error(client.get("/token/"), 401, 4033)
    assert_error(client.post(f"/token/disable/{setup['bob']}"), 401, 4033)
