"""``/policy/`` CRUD and bad input: refused with a 400 naming the field, nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import assert_error, ok


def test_create_get_list_update_delete(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy
) -> None:
    pid = set_policy(
        "pol1", scope="authentication", action="otppin=userstore, passOnNoToken",
        realm="realm1", user="*,!bob", client="10.0.0.0/8,!10.1.0.0/16",
        time="Mon-Fri: 08:00-18:00", priority=3,
    )  # fmt: skip
    got = ok(client.get("/policy/pol1", headers=admin_headers))["result"]["value"]
    assert got["id"] == pid
    assert got["action"] == {"otppin": "userstore", "passOnNoToken": True}
    assert got["user"] == ["*", "!bob"]
    assert got["client"] == ["10.0.0.0/8", "!10.1.0.0/16"]
    assert got["priority"] == 3 and got["active"] is True
    # An update keeps what it does not name; a dict action is accepted too.
    set_policy("pol1", action={"otppin": "none"})
    got = ok(client.get("/policy/pol1", headers=admin_headers))["result"]["value"]
    assert got["action"] == {"otppin": "none"} and got["realm"] == ["realm1"]
    ok(client.post("/policy/disable/pol1", headers=admin_headers))
    listed = ok(client.get("/policy/", params={"active": "false"}, headers=admin_headers))
    assert [p["name"] for p in listed["result"]["value"]] == ["pol1"]
    ok(client.post("/policy/enable/pol1", headers=admin_headers))
    listed = ok(client.get("/policy/", params={"scope": "admin"}, headers=admin_headers))
    assert listed["result"]["value"] == []
    assert ok(client.delete("/policy/pol1", headers=admin_headers))["result"]["value"] == pid
    assert_error(client.get("/policy/pol1", headers=admin_headers), 404)


def test_conditions_round_trip(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy
) -> None:
    set_policy(
        "cond", scope="authentication", action="passOnNoToken",
        conditions=[["userinfo", "email", "matches", ".*@example.com", True]],
    )  # fmt: skip
    got = ok(client.get("/policy/cond", headers=admin_headers))["result"]["value"]
    assert got["conditions"] == [
        ["userinfo", "email", "matches", ".*@example.com", True, "raise_error"]
    ]


def test_defs(client: TestClient, admin_headers: dict[str, str]) -> None:
    defs = ok(client.get("/policy/defs/authentication", headers=admin_headers))["result"]["value"]
    assert defs["otppin"]["type"] == "str"
    assert defs["otppin"]["value"] == ["tokenpin", "userstore", "none"]
    # privacyIDEA's passthru names where to check the password; Factorflow has the user store.
    assert defs["passthru"]["type"] == "str" and defs["passthru"]["value"] == ["userstore"]
    admin = ok(client.get("/policy/defs/admin", headers=admin_headers))["result"]["value"]
    assert {"enrollHOTP", "enrollTOTP", "disable", "policywrite"} <= set(admin)
    every = ok(client.get("/policy/defs", headers=admin_headers))["result"]["value"]
    assert set(every) == {"admin", "user", "authentication", "authorization", "enrollment", "webui"}
    assert every["enrollment"]["max_token_per_user"]["type"] == "int"


BAD: list[tuple[dict[str, Any], str]] = [
    ({"scope": "nonsense", "action": "x"}, "scope"),
    ({"scope": "admin", "action": "fly"}, "action"),
    ({"scope": "authentication", "action": "otppin=ldap"}, "action"),
    ({"scope": "authentication", "action": "otppin"}, "action"),
    ({"scope": "enrollment", "action": "max_token_per_user=many"}, "action"),
    ({"scope": "admin", "action": "disable=3"}, "action"),
    ({"scope": "authorization", "action": "last_auth=soon"}, "action"),
    ({"scope": "authorization", "action": "lastauth=soon"}, "action"),
    ({"scope": "admin", "action": "disable", "client": "10.0.0.300/8"}, "client"),
    ({"scope": "admin", "action": "disable", "client": "!nonsense"}, "client"),
    ({"scope": "admin", "action": "disable", "time": "Mon-Fri: 18:00-08:00"}, "time"),
    ({"scope": "admin", "action": "disable", "time": "Moonday: 08:00-09:00"}, "time"),
    ({"scope": "admin", "action": "disable", "time": "Mon: 25:00-26:00"}, "time"),
    ({"scope": "admin", "action": "disable", "user": "!"}, "user"),
    ({"scope": "admin", "action": "disable", "adminuser": "a b"}, "adminuser"),
    ({"scope": "admin", "action": "disable", "realm": "bad/realm"}, "realm"),
    ({"scope": "admin", "action": "disable", "priority": "first"}, "priority"),
    ({"scope": "admin", "action": "disable", "conditions": '[["weather", "k", "equals", "v"]]'}, "conditions[0]"),
    ({"scope": "admin", "action": "disable", "conditions": '[["userinfo", "k", "near", "v"]]'}, "conditions[0]"),
    ({"scope": "admin", "action": "disable", "conditions": '{"a": 1}'}, "conditions"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "field"), BAD)
def test_bad_input_names_the_field_and_stores_nothing(
    client: TestClient, admin_headers: dict[str, str], data: dict[str, Any], field: str
) -> None:
    body = assert_error(client.post("/policy/bad", data=data, headers=admin_headers), 400, 905)
    assert repr(field) in body["result"]["error"]["message"], body
    assert_error(client.get("/policy/bad", headers=admin_headers), 404)


def test_bad_name_and_missing_action(client: TestClient, admin_headers: dict[str, str]) -> None:
    assert_error(
        client.post(
            "/policy/a$b", data={"scope": "admin", "action": "disable"}, headers=admin_headers
        ),
        400,
    )
    body = assert_error(
        client.post("/policy/p", data={"scope": "admin"}, headers=admin_headers), 400
    )
    assert "action" in body["result"]["error"]["message"]


def test_admin_only(client: TestClient, admin_headers: dict[str, str], flatfile_realm: str) -> None:
    from tests.conftest import user_headers

    headers = user_headers(client, "alice")
    assert_error(client.get("/policy/", headers=headers), 401)
    assert_error(
        client.post("/policy/x", data={"scope": "admin", "action": "disable"}, headers=headers), 401
    )


def test_events_and_audit(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy
) -> None:
    set_policy(
        "audited", scope="admin", action="policywrite, policyread, auditlog", adminuser="admin"
    )
    rows = ok(client.get("/audit/", params={"action": "*policy*"}, headers=admin_headers))
    entries = rows["result"]["value"]["auditdata"]
    assert any(e["action"] == "POST /policy/<name>" for e in entries), entries


def test_policy_check(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy
) -> None:
    set_policy("reader", scope="admin", action="policyread, policywrite", adminuser="admin")
    set_policy("hd", scope="admin", action="disable", adminuser="admin", realm="a")
    params = {"scope": "admin", "action": "disable", "adminuser": "admin"}
    body = ok(client.get("/policy/check", params={**params, "realm": "a"}, headers=admin_headers))
    assert body["result"]["value"]["allowed"] is True
    assert body["result"]["value"]["policies"] == ["hd"]
    body = ok(client.get("/policy/check", params={**params, "realm": "b"}, headers=admin_headers))
    assert body["result"]["value"]["allowed"] is False
