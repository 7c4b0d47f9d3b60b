"""/validate/check asks the user store once per request: the check, its prepare (on
SQLite) and the conditions of its event definitions share one lookup."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from factorflow.users.base import UserRecord
from factorflow.users.stores.flatfile import FlatFileUserStore
from tests.tokens.helpers import RFC4226_OTPS, RFC_KEY_HEX, init_token


@pytest.fixture
def store_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The logins the flat-file store is asked for (the store still answers)."""
    asked: list[str] = []
    find = FlatFileUserStore.find

    def counted(self: FlatFileUserStore, login: str) -> UserRecord | None:
        asked.append(login)
        return find(self, login)

    monkeypatch.setattr(FlatFileUserStore, "find", counted)
    return asked


def test_one_user_lookup_for_the_check_and_its_definitions(
    client: TestClient,
    admin_headers: dict[str, str],
    flatfile_realm: str,
    store_lookups: list[str],
) -> None:
    init_token(client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, pin="1234", user="alice")
    definition = {
        "name": "never for this realm", "event": "validate_check", "handlermodule": "Token",
        "action": "set tokeninfo", "position": "post",
        "conditions": json.dumps({"realm": "elsewhere"}),
        "option.key": "seen", "option.value": "x",
    }  # fmt: skip
    client.post("/event", data=definition, headers=admin_headers).raise_for_status()
    store_lookups.clear()

    reply = client.post(
        "/validate/check",
        data={"user": "alice", "realm": flatfile_realm, "pass": "1234" + RFC4226_OTPS[0]},
    )
    assert reply.json()["result"]["authentication"] == "ACCEPT"
    assert store_lookups == ["alice"]


def test_an_unknown_user_is_looked_up_once(
    client: TestClient, flatfile_realm: str, store_lookups: list[str]
) -> None:
    reply = client.post(
        "/validate/check", data={"user": "nobody", "realm": flatfile_realm, "pass": "1234"}
    )
    assert reply.status_code == 400, reply.text
    assert reply.json()["result"]["error"]["code"] == 904
    assert store_lookups == ["nobody"]
