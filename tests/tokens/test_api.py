"""Token management through the API as an administrator."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.tokens.helpers import (
    RFC4226_OTPS,
    RFC_KEY_HEX,
    assert_error,
    check,
    get_token,
    init_token,
    ok,
)


def test_init_defaults_and_list_fields(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    body = init_token(
        client, admin_headers, genkey="1", description="laptop", user="alice", realm="realm1"
    )
    serial = body["detail"]["serial"]
    seed = body["detail"]["otpkey"]["value"]
    assert seed.startswith("seed://") and len(seed) == len("seed://") + 40
    token = get_token(client, admin_headers, serial)
    assert token["tokentype"] == "hotp" and token["description"] == "laptop"
    assert token["active"] is True and token["revoked"] is False and token["locked"] is False
    assert token["count_window"] == 10 and token["sync_window"] == 1000 and token["maxfail"] == 10
    assert token["otplen"] == 6 and token["rollout_state"] == "enrolled"
    assert token["realms"] == ["realm1"] and token["tokengroup"] == []
    assert token["resolver"] == "resolver1" and token["user_id"] == "1000"
    assert token["info"]["hashlib"] == "sha1" and "creation_date" in token["info"]
    assert set(token) >= {"id", "serial", "count", "failcount", "username", "user_realm"}
    assert not any("secret" in key or "pin" in key for key in token)


def test_init_variants(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    body = init_token(
        client,
        admin_headers,
        type="totp",
        genkey=1,
        otplen=8,
        hashlib="sha256",
        timeStep=60,
        serial="MYTOTP1",
    )
    assert body["detail"]["serial"] == "MYTOTP1"
    token = get_token(client, admin_headers, "MYTOTP1")
    assert (
        token["otplen"] == 8
        and token["info"]["hashlib"] == "sha256"
        and token["info"]["timeStep"] == "60"
    )
    assert token["username"] == "" and token["realms"] == []
    init_token(client, admin_headers, type="hotp", genkey=1, tokenrealm="realm1")
    listed = ok(client.get("/token/", params={"tokenrealm": "realm1"}, headers=admin_headers))
    assert listed["result"]["value"]["count"] == 1
    # Both genkey and otpkey is an error.
    assert_error(
        client.post(
            "/token/init", data={"genkey": 1, "otpkey": RFC_KEY_HEX}, headers=admin_headers
        ),
        400,
        905,
    )


def test_list_filters_paging_sorting(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    for i in range(5):
        init_token(client, admin_headers, serial=f"LIST{i}", genkey=1, description=f"d{i % 2}")
    init_token(client, admin_headers, serial="OTHER1", type="totp", genkey=1, user="bob")
    value = ok(
        client.get(
            "/token/",
            params={"serial": "LIST*", "pagesize": 2, "page": 2, "sortdir": "desc"},
            headers=admin_headers,
        )
    )["result"]["value"]
    assert value["count"] == 5 and value["prev"] == 1 and value["next"] == 3
    assert [t["serial"] for t in value["tokens"]] == ["LIST2", "LIST1"]

    def serials(**params: object) -> list[str]:
        body = ok(client.get("/token/", params=params, headers=admin_headers))
        return sorted(t["serial"] for t in body["result"]["value"]["tokens"])

    assert serials(type="totp") == ["OTHER1"]
    assert serials(user="bob") == ["OTHER1"]
    assert serials(assigned="False") == [f"LIST{i}" for i in range(5)]
    assert serials(assigned="True") == ["OTHER1"]
    assert serials(description="d1") == ["LIST1", "LIST3"]
    assert serials(serial="LIST0,LIST4") == ["LIST0", "LIST4"]
    assert serials(infokey="timeStep", infovalue="30") == ["OTHER1"]
    assert serials(serial="LIST_") == []  # '_' is literal, not a LIKE wildcard


def test_assign_unassign(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = init_token(client, admin_headers, otpkey=RFC_KEY_HEX)["detail"]["serial"]
    ok(
        client.post(
            "/token/assign",
            data={"serial": serial, "user": "alice", "realm": "realm1", "pin": "77"},
            headers=admin_headers,
        )
    )
    assert (
        check(client, user="alice", **{"pass": "77" + RFC4226_OTPS[0]})["result"]["value"] is True
    )
    assert_error(
        client.post("/token/assign", data={"serial": serial, "user": "bob"}, headers=admin_headers),
        400,
        1103,
    )
    ok(client.post("/token/unassign", data={"serial": serial}, headers=admin_headers))
    token = get_token(client, admin_headers, serial)
    assert token["username"] == "" and token["user_id"] == ""
    assert (
        check(client, user="alice", **{"pass": "77" + RFC4226_OTPS[1]})["detail"]["message"]
        == "The user has no tokens assigned"
    )


def test_enable_disable_by_user_and_delete(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    a = init_token(client, admin_headers, genkey=1, user="alice")["detail"]["serial"]
    b = init_token(client, admin_headers, genkey=1, user="alice")["detail"]["serial"]
    assert (
        ok(
            client.post(
                "/token/disable", data={"user": "alice", "realm": "realm1"}, headers=admin_headers
            )
        )["result"]["value"]
        == 2
    )
    assert get_token(client, admin_headers, a)["active"] is False
    assert ok(client.post(f"/token/enable/{b}", headers=admin_headers))["result"]["value"] == 1
    assert ok(client.delete(f"/token/{a}", headers=admin_headers))["result"]["value"] == 1
    assert ok(client.get("/token/", headers=admin_headers))["result"]["value"]["count"] == 1
    assert_error(client.delete(f"/token/{a}", headers=admin_headers), 404, 601)


def test_resync(client: TestClient, admin_headers: dict[str, str], flatfile_realm: str) -> None:
    serial = init_token(client, admin_headers, otpkey=RFC_KEY_HEX, user="alice")["detail"]["serial"]
    # With a look-ahead of 2, counter 7 is out of reach until a resync.
    ok(client.post("/token/set", data={"serial": serial, "count_window": 2}, headers=admin_headers))
    assert check(client, serial=serial, **{"pass": RFC4226_OTPS[7]})["result"]["value"] is False
    body = ok(
        client.post(
            f"/token/resync/{serial}",
            data={"otp1": RFC4226_OTPS[5], "otp2": RFC4226_OTPS[6]},
            headers=admin_headers,
        )
    )
    assert body["result"]["value"] is True
    assert get_token(client, admin_headers, serial)["count"] == 7
    assert check(client, serial=serial, **{"pass": RFC4226_OTPS[7]})["result"]["value"] is True
    bad = ok(
        client.post(
            "/token/resync",
            data={"serial": serial, "otp1": RFC4226_OTPS[8], "otp2": RFC4226_OTPS[8]},
            headers=admin_headers,
        )
    )
    assert bad["result"]["value"] is False


def test_setpin_set_description(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = init_token(client, admin_headers, otpkey=RFC_KEY_HEX, user="alice", pin="old")[
        "detail"
    ]["serial"]
    assert (
        ok(client.post(f"/token/setpin/{serial}", data={"otppin": "new"}, headers=admin_headers))[
            "result"
        ]["value"]
        == 1
    )
    assert (
        check(client, user="alice", **{"pass": "old" + RFC4226_OTPS[0]})["detail"]["message"]
        == "wrong otp pin"
    )
    assert (
        check(client, user="alice", **{"pass": "new" + RFC4226_OTPS[0]})["result"]["value"] is True
    )
    count = ok(
        client.post(
            f"/token/set/{serial}",
            data={
                "description": "x",
                "count_window": 5,
                "sync_window": 50,
                "count_auth_max": 9,
                "hashlib": "sha256",
            },
            headers=admin_headers,
        )
    )
    assert count["result"]["value"] == 5
    token = get_token(client, admin_headers, serial)
    assert token["description"] == "x" and token["count_window"] == 5 and token["sync_window"] == 50
    assert token["info"]["count_auth_max"] == "9" and token["info"]["hashlib"] == "sha256"
    ok(
        client.post(
            "/token/description",
            data={"serial": serial, "description": "phone"},
            headers=admin_headers,
        )
    )
    assert get_token(client, admin_headers, serial)["description"] == "phone"


def test_auth_counter_limit(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = init_token(client, admin_headers, otpkey=RFC_KEY_HEX, user="alice")["detail"]["serial"]
    ok(
        client.post(
            f"/token/set/{serial}", data={"count_auth_success_max": 1}, headers=admin_headers
        )
    )
    assert check(client, user="alice", **{"pass": RFC4226_OTPS[0]})["result"]["value"] is True
    assert (
        check(client, user="alice", **{"pass": RFC4226_OTPS[1]})["detail"]["message"]
        == "Authentication counter exceeded"
    )


def test_token_realms_and_info(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = init_token(client, admin_headers, genkey=1)["detail"]["serial"]
    ok(client.post(f"/token/realm/{serial}", data={"realms": "realm1"}, headers=admin_headers))
    assert get_token(client, admin_headers, serial)["realms"] == ["realm1"]
    ok(client.post(f"/token/realm/{serial}", data={"realms": ""}, headers=admin_headers))
    assert get_token(client, admin_headers, serial)["realms"] == []
    assert_error(
        client.post(f"/token/realm/{serial}", data={"realms": "nope"}, headers=admin_headers), 404
    )
    ok(
        client.post(
            f"/token/info/{serial}/location", data={"value": "office"}, headers=admin_headers
        )
    )
    assert get_token(client, admin_headers, serial)["info"]["location"] == "office"
    ok(client.delete(f"/token/info/{serial}/location", headers=admin_headers))
    assert "location" not in get_token(client, admin_headers, serial)["info"]
    assert_error(
        client.post(f"/token/info/{serial}/hashlib", data={"value": "md5"}, headers=admin_headers),
        403,
        303,
    )
    assert_error(client.delete(f"/token/info/{serial}/hashlib", headers=admin_headers), 403, 303)
    assert get_token(client, admin_headers, serial)["info"]["hashlib"] == "sha1"


def test_token_groups(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    serial = init_token(client, admin_headers, genkey=1)["detail"]["serial"]
    ok(client.post("/tokengroup/g1", data={"description": "first"}, headers=admin_headers))
    ok(client.post("/tokengroup/g2", headers=admin_headers))
    groups = ok(client.get("/tokengroup/", headers=admin_headers))["result"]["value"]
    assert set(groups) == {"g1", "g2"} and groups["g1"]["description"] == "first"
    assert set(ok(client.get("/tokengroup/g2", headers=admin_headers))["result"]["value"]) == {"g2"}
    ok(client.post(f"/token/group/{serial}/g1", headers=admin_headers))
    assert get_token(client, admin_headers, serial)["tokengroup"] == ["g1"]
    ok(client.post(f"/token/group/{serial}", data={"groups": "g2"}, headers=admin_headers))
    assert get_token(client, admin_headers, serial)["tokengroup"] == ["g2"]
    ok(client.delete(f"/token/group/{serial}/g2", headers=admin_headers))
    assert get_token(client, admin_headers, serial)["tokengroup"] == []
    ok(client.post(f"/token/group/{serial}/g1", headers=admin_headers))
    ok(client.delete("/tokengroup/g1", headers=admin_headers))
    assert get_token(client, admin_headers, serial)["tokengroup"] == []
    assert_error(client.post(f"/token/group/{serial}/nope", headers=admin_headers), 404)
    assert_error(client.delete("/tokengroup/g1", headers=admin_headers), 404)
    assert_error(client.post("/tokengroup/bad name!", headers=admin_headers), 400, 905)


def test_reinit_same_serial(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    init_token(client, admin_headers, serial="RE1", genkey=1, user="alice")
    body = init_token(client, admin_headers, serial="RE1", otpkey=RFC_KEY_HEX)
    assert body["detail"]["serial"] == "RE1"
    assert check(client, serial="RE1", **{"pass": RFC4226_OTPS[0]})["result"]["value"] is True
    assert_error(
        client.post(
            "/token/init",
            data={"serial": "RE1", "type": "totp", "genkey": 1},
            headers=admin_headers,
        ),
        400,
        301,
    )
