"""``importtokens`` and ``exporttokens`` for an admin limited to a realm: the token
realms of an import, the owners of an OATH CSV version 2 file and every exported token
must be in the admin's realms; a refusal imports nothing."""

from __future__ import annotations

from starlette.testclient import TestClient

from factorflow.bootstrap import Services
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import RFC_KEY_HEX, assert_error, init_token, ok
from tests.tokens.test_token_load import load, token_count

H = dict[str, str]


def _policies(set_policy: SetPolicy) -> None:
    set_policy("superuser", scope="admin", action="importtokens, exporttokens, policywrite, "
               "tokenlist, enrollHOTP", adminuser="admin")  # fmt: skip
    set_policy("helpdesk-a", scope="admin", action="importtokens, exporttokens, tokenlist",
               adminuser="helpdesk", realm="realm1")  # fmt: skip


def test_import_into_the_admins_realms_only(
    client: TestClient,
    admin_headers: H,
    helpdesk_headers: H,
    realm_b: str,
    set_policy: SetPolicy,
    services: Services,
) -> None:
    _policies(set_policy)
    line = f"H1, {RFC_KEY_HEX}"
    assert_error(load(client, helpdesk_headers, line, tokenrealms="realm2"), 403)
    assert_error(load(client, helpdesk_headers, line, tokenrealms="realm1,realm2"), 403)
    assert_error(load(client, helpdesk_headers, line), 403)  # in no realm
    v2 = f"# version: 2\ndave, resolver2, realm2, H2, {RFC_KEY_HEX}"
    assert_error(load(client, helpdesk_headers, v2, tokenrealms="realm1"), 403)
    assert token_count(services) == 0
    ok(load(client, helpdesk_headers, line, tokenrealms="realm1"))
    ok(load(client, helpdesk_headers, f"# version: 2\nalice, resolver1, realm1, H3, {RFC_KEY_HEX}",
            tokenrealms="realm1"))  # fmt: skip
    assert token_count(services) == 2


def test_export_of_the_admins_tokens_only(
    client: TestClient, admin_headers: H, helpdesk_headers: H, realm_b: str, set_policy: SetPolicy
) -> None:
    init_token(client, admin_headers, type="hotp", serial="A1", otpkey=RFC_KEY_HEX,
               user="alice", realm="realm1")  # fmt: skip
    init_token(client, admin_headers, type="hotp", serial="B1", otpkey=RFC_KEY_HEX,
               user="dave", realm="realm2")  # fmt: skip
    _policies(set_policy)
    data = {"password": "p"}
    assert_error(client.post("/token/export", data={"serial": "A1,B1", **data},
                             headers=helpdesk_headers), 403)  # fmt: skip
    assert_error(client.post("/token/export", data={"serial": "B1", **data},
                             headers=helpdesk_headers), 403)  # fmt: skip
    response = client.post("/token/export", data={"serial": "A1", **data}, headers=helpdesk_headers)
    assert response.status_code == 200, response.text


def test_without_the_right_nothing_is_imported(
    client: TestClient, admin_headers: H, helpdesk_headers: H, realm_b: str,
    set_policy: SetPolicy, services: Services,
) -> None:  # fmt: skip
    set_policy("superuser", scope="admin", action="policywrite", adminuser="admin")
    set_policy("helpdesk-a", scope="admin", action="tokenlist", adminuser="helpdesk",
               realm="realm1")  # fmt: skip
    assert_error(load(client, helpdesk_headers, f"H1, {RFC_KEY_HEX}", tokenrealms="realm1"), 403)
    body = client.post("/token/export", data={"serial": "X", "password": "p"},
                       headers=helpdesk_headers)  # fmt: skip
    assert_error(body, 403)
    assert token_count(services) == 0
