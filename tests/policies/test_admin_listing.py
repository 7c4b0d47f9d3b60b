"""``GET /token/`` for realm-limited admins: only the tokens of their realms (owned
there, or spare tokens in one of them)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import RFC_KEY_HEX, assert_error, init_token, ok

REALM1 = {"TOK-ALICE", "TOK-BOB", "FREE-R1", "FREE-R12"}
ALL = REALM1 | {"TOK-DAVE", "FREE-NONE", "FREE-R2"}


@pytest.fixture
def tokens(client: TestClient, admin_headers: dict[str, str], realm_b: str) -> None:
    """Owned tokens in realm1 and realm2, unowned ones in realm1, realm2, both, none."""
    for serial, user, realm in (
        ("TOK-ALICE", "alice", "realm1"),
        ("TOK-BOB", "bob", "realm1"),
        ("TOK-DAVE", "dave", realm_b),
    ):
        init_token(client, admin_headers, type="hotp", serial=serial, otpkey=RFC_KEY_HEX,
                   user=user, realm=realm, pin="1234")  # fmt: skip
    for serial, realms in (
        ("FREE-R1", "realm1"),
        ("FREE-R2", realm_b),
        ("FREE-R12", f"realm1,{realm_b}"),
        ("FREE-NONE", ""),
    ):
        init_token(client, admin_headers, type="hotp", serial=serial, otpkey=RFC_KEY_HEX)
        if realms:
            ok(client.post(f"/token/realm/{serial}", data={"realms": realms},
                           headers=admin_headers))  # fmt: skip


def _listing(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    value: dict[str, Any] = ok(client.get("/token/", params=params, headers=headers))["result"][
        "value"
    ]
    return value


def _serials(client: TestClient, headers: dict[str, str], **params: Any) -> set[str]:
    return {t["serial"] for t in _listing(client, headers, **params)["tokens"]}


@pytest.fixture
def helpdesk_in_realm1(set_policy: SetPolicy) -> None:
    set_policy("superuser", scope="admin", action="tokenlist, policywrite", adminuser="admin")
    set_policy("helpdesk-a", scope="admin", action="tokenlist, disable", adminuser="helpdesk",
               realm="realm1")  # fmt: skip


def test_realm_limited_admin_lists_only_realm_tokens(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    tokens: None, helpdesk_in_realm1: None,
) -> None:  # fmt: skip
    listing = _listing(client, helpdesk_headers)
    assert {t["serial"] for t in listing["tokens"]} == REALM1
    assert listing["count"] == len(REALM1)
    # the unrestricted admin sees everything, tokens without a realm included
    everything = _listing(client, admin_headers)
    assert {t["serial"] for t in everything["tokens"]} == ALL
    assert everything["count"] == len(ALL)
    # filters narrow further; they never widen the realm limit
    assert _serials(client, helpdesk_headers, serial="FREE-*") == {"FREE-R1", "FREE-R12"}
    assert _serials(client, helpdesk_headers, assigned="1") == {"TOK-ALICE", "TOK-BOB"}
    assert _serials(client, helpdesk_headers, user="alice") == {"TOK-ALICE"}
    assert_error(client.get("/token/", params={"user": "dave", "realm": "realm2"},
                            headers=helpdesk_headers), 403)  # fmt: skip
    assert_error(client.get("/token/", params={"realm": "realm2"}, headers=helpdesk_headers), 403)


def test_pagination_counts_only_visible_tokens(
    client: TestClient, helpdesk_headers: dict[str, str], tokens: None,
    helpdesk_in_realm1: None,
) -> None:  # fmt: skip
    first = _listing(client, helpdesk_headers, pagesize=3, page=1)
    assert (first["count"], first["prev"], first["next"]) == (4, None, 2)
    second = _listing(client, helpdesk_headers, pagesize=3, page=2)
    assert (second["count"], second["prev"], second["next"]) == (4, 1, None)
    serials = [t["serial"] for t in first["tokens"] + second["tokens"]]
    assert sorted(serials) == sorted(REALM1)


def test_grants_in_several_realms_add_up(
    client: TestClient, helpdesk_headers: dict[str, str], tokens: None,
    helpdesk_in_realm1: None, set_policy: SetPolicy,
) -> None:  # fmt: skip
    set_policy("helpdesk-b", scope="admin", action="tokenlist", adminuser="helpdesk",
               realm="realm2")  # fmt: skip
    assert _serials(client, helpdesk_headers) == ALL - {"FREE-NONE"}
    # a grant without a realm lifts the limit
    set_policy("helpdesk-all", scope="admin", action="tokenlist", adminuser="helpdesk")
    assert _serials(client, helpdesk_headers) == ALL


def test_realm_grants_of_other_rights_do_not_widen_the_listing(
    client: TestClient, helpdesk_headers: dict[str, str], tokens: None,
    helpdesk_in_realm1: None, set_policy: SetPolicy,
) -> None:  # fmt: skip
    set_policy("helpdesk-b-disable", scope="admin", action="disable", adminuser="helpdesk")
    assert _serials(client, helpdesk_headers) == REALM1


def test_user_limited_grants_list_only_when_the_user_is_named(
    client: TestClient, helpdesk_headers: dict[str, str], admin_headers: dict[str, str],
    tokens: None, set_policy: SetPolicy,
) -> None:  # fmt: skip
    set_policy("superuser", scope="admin", action="tokenlist, policywrite", adminuser="admin")
    set_policy("hd-alice", scope="admin", action="tokenlist", adminuser="helpdesk",
               realm="realm1", user="alice")  # fmt: skip
    assert _serials(client, helpdesk_headers) == set()
    assert _serials(client, helpdesk_headers, user="alice") == {"TOK-ALICE"}
    assert_error(client.get("/token/", params={"user": "bob"}, headers=helpdesk_headers), 403)
    assert _serials(client, admin_headers) == ALL


def test_without_admin_policies_every_admin_sees_everything(
    client: TestClient, helpdesk_headers: dict[str, str], tokens: None
) -> None:
    assert _serials(client, helpdesk_headers) == ALL


def test_realm_limited_admin_lists_only_realm_users(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    realm_b: str, set_policy: SetPolicy,
) -> None:  # fmt: skip
    set_policy("superuser", scope="admin", action="userlist, policywrite", adminuser="admin")
    set_policy("helpdesk-b", scope="admin", action="userlist", adminuser="helpdesk",
               realm=realm_b)  # fmt: skip

    def logins(headers: dict[str, str], **params: Any) -> set[str]:
        users = ok(client.get("/user/", params=params, headers=headers))["result"]["value"]
        return {u["username"] for u in users}

    assert logins(helpdesk_headers) == {"dave", "erin"}
    count = ok(client.get("/user/count", headers=helpdesk_headers))["result"]["value"]
    assert count == 2
    assert logins(helpdesk_headers, realm=realm_b) == {"dave", "erin"}
    assert_error(client.get("/user/", params={"realm": "realm1"}, headers=helpdesk_headers), 403)
    # the unrestricted admin still sees every store
    assert {"alice", "bob", "dave", "erin"} <= logins(admin_headers)


def test_realm_limited_admin_lists_only_challenges_of_realm_tokens(
    client: TestClient, admin_headers: dict[str, str], helpdesk_headers: dict[str, str],
    tokens: None, set_policy: SetPolicy,
) -> None:  # fmt: skip
    set_policy("hotp-challenge", scope="authentication", action="challenge_response=hotp")
    for user, realm in (("alice", "realm1"), ("dave", "realm2")):
        body = ok(client.post("/validate/check",
                              data={"user": user, "realm": realm, "pass": "1234"}))  # fmt: skip
        assert body["detail"]["transaction_id"]
    set_policy("superuser", scope="admin", action="getchallenges, policywrite", adminuser="admin")
    set_policy("helpdesk-a", scope="admin", action="getchallenges", adminuser="helpdesk",
               realm="realm1")  # fmt: skip

    def serials(headers: dict[str, str]) -> set[str]:
        value = ok(client.get("/token/challenges/", headers=headers))["result"]["value"]
        return {c["serial"] for c in value["challenges"]}

    assert serials(helpdesk_headers) == {"TOK-ALICE", "TOK-BOB"} & serials(admin_headers)
    assert "TOK-DAVE" in serials(admin_headers)
    assert "TOK-DAVE" not in serials(helpdesk_headers)
