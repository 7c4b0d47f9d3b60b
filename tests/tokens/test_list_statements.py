"""GET /token/ sends as many SQL statements for a page of many tokens, owned by
several users, as for a page of one: nothing is loaded per token or per owner."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.tokens.helpers import RFC_KEY_HEX, init_token, ok


def listed(client: TestClient, headers: dict[str, str], statements: list[str]) -> int:
    """The statements of one ``GET /token/`` (after a first one filled the caches)."""
    ok(client.get("/token/", headers=headers))
    statements.clear()
    body = ok(client.get("/token/", headers=headers))
    assert body["result"]["value"]["tokens"]
    return len(statements)


def test_listing_does_not_grow_with_the_tokens(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str, statements: list[str]
) -> None:
    def enrol(serial: str, **owner: str) -> None:
        init_token(
            client, admin_headers, type="hotp", otpkey=RFC_KEY_HEX, pin="1", serial=serial,
            description="d", **owner,
        )  # fmt: skip
        token_set = {"serial": serial, "count_auth_max": "9", "count_auth_success_max": "9"}
        ok(client.post("/token/set", data=token_set, headers=admin_headers))

    enrol("ONE", user="alice", realm=flatfile_realm)
    one = listed(client, admin_headers, statements)
    for number, login in enumerate(["alice", "bob", "carol", "bob", ""]):
        enrol(f"MANY{number}", **({"user": login, "realm": flatfile_realm} if login else {}))
    ok(client.post("/token/realm/MANY4", data={"realms": flatfile_realm}, headers=admin_headers))
    many = listed(client, admin_headers, statements)
    assert many == one, "\n".join(statements)
