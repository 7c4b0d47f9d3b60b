"""Issue 13 item 11: ``PATCH /policy/<name>`` (rename) and privacyIDEA's policy file
(``GET /policy/export/<file>``, ``POST /policy/import/<file>``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from tests.policies.conftest import SetPolicy
from tests.tokens.helpers import assert_error, ok

#: A file as privacyIDEA 3.14 exports it (str() of each field), with a container policy
#: (a scope Factorflow does not have yet) and Factorflow's earlier name lostTokenValid.
PRIVACYIDEA_FILE = """\
[helpdesk]
name = helpdesk
scope = admin
action = {'enable': True, 'disable': True, 'tokenlist': True, 'policyread': True}
active = True
adminrealm = []
adminuser = ['helpdesk']
check_all_resolvers = False
client = ['10.0.0.0/8']
conditions = []
description = help desk
pinode = []
priority = 2
realm = ['realm1']
resolver = []
time = Mon-Fri: 08:00-18:00
user = []
user_agents = []

[super]
scope = admin
action = {'policyread': True, 'policywrite': True}
adminuser = ['admin']

[ui]
name = ui
scope = webui
action = {'login_mode': 'privacyIDEA'}

[box]
name = box
scope = container
action = {'container_create': True}

[lost]
scope = enrollment
action = {'lostTokenValid': 3, 'losttoken_PW_length': 12}
realm = ['realm1']
"""


def _policies(client: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    listed = ok(client.get("/policy/", headers=headers))["result"]["value"]
    return {p["name"]: p for p in listed}


def _import(client: TestClient, headers: dict[str, str], text: str, name: str = "p.cfg") -> Any:
    files = {"file": (name, text.encode(), "text/plain")}
    return client.post(f"/policy/import/{name}", files=files, headers=headers)


def test_patch_renames_and_keeps_everything_else(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy
) -> None:
    pid = set_policy("old", scope="authorization", action="last_auth=10d", realm="realm1")
    body = ok(client.patch("/policy/old", data={"name": "new-name"}, headers=admin_headers))
    assert body["result"]["value"] == pid
    policies = _policies(client, admin_headers)
    assert list(policies) == ["new-name"]
    assert policies["new-name"]["action"] == {"last_auth": "10d"}
    assert policies["new-name"]["realm"] == ["realm1"]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/policy/missing", {"name": "x"}),  # no such policy (privacyIDEA: 400)
        ("/policy/old", {"name": "taken"}),
        ("/policy/old", {"name": "bad/name"}),
        ("/policy/old", {"name": "check"}),
        ("/policy/old", {}),
    ],
)
def test_bad_renames_are_refused_and_change_nothing(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy, path: str,
    data: dict[str, str],
) -> None:  # fmt: skip
    set_policy("old", scope="authorization", action="no_detail_on_fail")
    set_policy("taken", scope="authorization", action="no_detail_on_success")
    assert_error(client.patch(path, data=data, headers=admin_headers), 400)
    assert sorted(_policies(client, admin_headers)) == ["old", "taken"]


def test_export_then_import_round_trips(
    client: TestClient, admin_headers: dict[str, str], set_policy: SetPolicy
) -> None:
    set_policy("pol-a", scope="admin", action="enable, set_custom_user_attributes=:k: a b, "
               "policyread, policywrite, policydelete", realm="realm1", adminuser="admin")  # fmt: skip
    set_policy("pol-b", scope="authentication", action="otppin=userstore", priority=3,
               description="two\nlines ", conditions=[["userinfo", "email", "matches",
                                                       ".*@example.com", True]])  # fmt: skip
    response = client.get("/policy/export/all.cfg", headers=admin_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'filename="all.cfg"' in response.headers["content-disposition"]
    text = response.text
    assert "[pol-a]" in text and "action = {'enable': True," in text
    before = _policies(client, admin_headers)
    for name in before:
        ok(client.delete(f"/policy/{name}", headers=admin_headers))
    assert ok(_import(client, admin_headers, text))["result"]["value"] == 2
    after = _policies(client, admin_headers)
    for name, policy in before.items():
        assert {k: v for k, v in after[name].items() if k != "id"} == {
            k: v for k, v in policy.items() if k != "id"
        }


def test_import_of_a_privacyidea_file(
    client: TestClient, admin_headers: dict[str, str], services: Services
) -> None:
    body = ok(_import(client, admin_headers, PRIVACYIDEA_FILE, "backup-policy.cfg"))
    assert body["result"]["value"] == 4
    warnings = body["detail"]["warnings"]
    assert any("'box' is skipped" in w for w in warnings)
    assert any("'lostTokenValid'" in w for w in warnings)
    policies = _policies(client, admin_headers)
    assert sorted(policies) == ["helpdesk", "lost", "super", "ui"]
    assert policies["ui"]["action"] == {"login_mode": "privacyIDEA"}
    helpdesk = policies["helpdesk"]
    assert helpdesk["adminuser"] == ["helpdesk"] and helpdesk["client"] == ["10.0.0.0/8"]
    assert (helpdesk["priority"], helpdesk["time"]) == (2, "Mon-Fri: 08:00-18:00")
    assert policies["lost"]["action"] == {"losttoken_valid": 3, "losttoken_PW_length": 12}
    with services.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("%/policy/import/%"))
        ).one()
    assert entry.success and "imported 4 policies from file backup-policy.cfg" in entry.info


@pytest.mark.parametrize(
    "text",
    [
        "",  # empty
        "no section = here\n",
        "[p]\nthis line has no equals sign\n",
        "[p]\nscope = admin\naction = {'fly': True}\n",  # an unknown action
        "[good]\nscope = admin\naction = {'enable': True}\n"
        "[bad]\nscope = admin\naction = enable\nclient = ['10.0.0.300']\n",
        "[p]\nscope = admin\naction = __import__('os').system('true')\n",  # no code runs
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_imported(
    client: TestClient, admin_headers: dict[str, str], text: str
) -> None:
    assert_error(_import(client, admin_headers, text), 400)
    assert _policies(client, admin_headers) == {}


def test_import_needs_a_file(client: TestClient, admin_headers: dict[str, str]) -> None:
    assert_error(client.post("/policy/import/x.cfg", headers=admin_headers), 400)
    assert_error(client.post("/policy/import/x.cfg", data={"file": b"\xff\xfe"},
                             headers=admin_headers), 400)  # fmt: skip


def test_export_names_any_file_and_refuses_bad_names(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = client.get("/policy/export/pölicies 2026.cfg", headers=admin_headers)
    assert response.status_code == 200 and response.text == ""  # no policies yet
    disposition = response.headers["content-disposition"]
    assert "filename*=UTF-8''p%C3%B6licies%202026.cfg" in disposition
    for bad in ('a"b.cfg', "a\\b.cfg", "a%0Db.cfg"):
        assert_error(client.get(f"/policy/export/{bad}", headers=admin_headers), 400)
