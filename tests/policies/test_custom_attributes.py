"""privacyIDEA's ``set_custom_user_attributes`` / ``delete_custom_user_attributes``
values and ``GET /user/editable_attributes/`` (issue 13 items 9 and 11)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import user_headers
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import assert_error, ok


def _set(client: TestClient, headers: dict[str, str], key: str, value: str, **who: str) -> Any:
    data = {"user": "alice", "realm": "realm1", "key": key, "value": value, **who}
    return client.post("/user/attribute", data=data, headers=headers)


def _editable(client: TestClient, headers: dict[str, str], **params: str) -> Any:
    response = client.get("/user/editable_attributes/", params=params, headers=headers)
    return ok(response)["result"]["value"]


def test_without_admin_policies_an_admin_edits_every_attribute(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    value = _editable(client, admin_headers, user="alice", realm="realm1")
    assert value == {"delete": ["*"], "set": {"*": ["*"]}}
    ok(_set(client, admin_headers, "anything", "goes"))


def test_admin_policy_values_decide_keys_and_values(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    # privacyIDEA's own example, spread over two policies (the values add up)
    set_policy("attr1", scope="admin",
               action="set_custom_user_attributes=:hello: one two, policywrite")  # fmt: skip
    set_policy("attr2", scope="admin",
               action="set_custom_user_attributes=:hello2: * :hello: three, "
               "delete_custom_user_attributes=hello2, userlist")  # fmt: skip
    set_policy("attr3", scope="admin", action="set_custom_user_attributes=:*: on off")
    value = _editable(client, admin_headers, user="alice", realm="realm1")
    assert value["set"] == {"*": ["off", "on"], "hello": ["one", "three", "two"], "hello2": ["*"]}
    assert value["delete"] == ["hello2"]
    ok(_set(client, admin_headers, "hello", "three"))
    ok(_set(client, admin_headers, "hello2", "whatever"))
    ok(_set(client, admin_headers, "color", "on"))
    for key, bad in (("hello", "four"), ("color", "red")):
        body = assert_error(_set(client, admin_headers, key, bad), 403, 303)
        assert key in body["result"]["error"]["message"]
    ok(client.delete("/user/attribute/hello2/alice/realm1", headers=admin_headers))
    assert_error(client.delete("/user/attribute/hello/alice/realm1", headers=admin_headers), 403)
    attributes = ok(client.get("/user/attribute", params={"user": "alice", "realm": "realm1"},
                               headers=admin_headers))["result"]["value"]  # fmt: skip
    assert attributes == {"hello": "three", "color": "on"}


def test_a_user_edits_own_attributes_only_as_user_policies_allow(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, set_policy: SetPolicy
) -> None:
    alice = user_headers(client, "alice")
    assert _editable(client, alice) == {"delete": [], "set": {}}
    assert_error(_set(client, alice, "team", "red"), 403, 303)
    set_policy("self", scope="user", action="set_custom_user_attributes=:team: red blue, "
               "delete_custom_user_attributes=team, enrollHOTP")  # fmt: skip
    assert _editable(client, alice) == {"delete": ["team"], "set": {"team": ["blue", "red"]}}
    # The JWT decides whose attributes change, not the parameters.
    ok(_set(client, alice, "team", "red", user="bob"))
    assert_error(_set(client, alice, "team", "green"), 403, 303)
    mine = ok(client.get("/user/attribute", headers=alice))["result"]["value"]
    assert mine == {"team": "red"}
    bob = ok(client.get("/user/attribute", params={"user": "bob", "realm": "realm1"},
                        headers=admin_headers))["result"]["value"]  # fmt: skip
    assert bob == {}
    assert_error(client.delete("/user/attribute/team/bob/realm1", headers=alice), 403, 303)
    ok(client.delete("/user/attribute/team/alice/realm1", headers=alice))


def test_editable_attributes_bad_input(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    assert_error(client.get("/user/editable_attributes/", headers=admin_headers), 400)
    params = {"user": "nobody", "realm": "realm1"}
    assert_error(client.get("/user/editable_attributes/", params=params, headers=admin_headers),
                 400)  # fmt: skip
    assert_error(client.get("/user/editable_attributes/", params={"user": "alice"}), 401)
