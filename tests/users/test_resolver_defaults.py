"""``GET /resolver/<resolvertype>/default``: a type's options with their defaults
(privacyIDEA 3.14), admins only, no right needed."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import user_headers
from tests.tokens.helpers import assert_error, ok


def test_defaults_of_each_resolver_type(client: TestClient, admin_headers: dict[str, str]) -> None:
    ldap = ok(client.get("/resolver/ldapresolver/default", headers=admin_headers))
    value = ldap["result"]["value"]
    assert value["TIMEOUT"] == 5 and value["LDAPSEARCHFILTER"] == "(objectClass=*)"
    assert value["LDAPURI"] == "" and value["BINDPW"] == ""
    sql = ok(client.get("/resolver/sqlresolver/default", headers=admin_headers))["result"]
    assert sql["value"]["Limit"] == 1000 and sql["value"]["Editable"] is False
    passwd = ok(client.get("/resolver/passwdresolver/default", headers=admin_headers))
    assert passwd["result"]["value"] == {"fileName": ""}


def test_unknown_type_and_users_are_refused(
    client: TestClient, admin_headers: dict[str, str], flatfile_realm: str
) -> None:
    body = assert_error(client.get("/resolver/nosuchresolver/default", headers=admin_headers), 400)
    assert "nosuchresolver" in body["result"]["error"]["message"]
    assert_error(client.get("/resolver/ldapresolver/default", headers=user_headers(client, "alice")),
                 401)  # fmt: skip
