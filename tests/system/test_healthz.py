"""``/healthz/``: privacyIDEA's probes, anonymous, cheap and never audited."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

from sqlalchemy import func, select
from starlette.testclient import TestClient

from factorflow.api.app import create_app
from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from factorflow.db.base import make_engine
from factorflow.system.health import HealthService
from tests.conftest import user_headers
from tests.tokens.helpers import ok
from tests.users.conftest import SQL_MAP, fill_table

H = dict[str, str]


def probe(client: TestClient, path: str, status: int, headers: H | None = None) -> object:
    response = client.get(f"/healthz/{path}", headers=headers or {})
    assert response.status_code == status, response.text
    body = response.json()
    assert body["result"]["status"] is True and body["jsonrpc"] == "2.0", body
    return body["result"]["value"]


def audit_count(services: Services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_the_probes_answer_as_privacyidea_does_and_write_no_audit(
    client: TestClient, services: Services
) -> None:
    before = audit_count(services)
    assert probe(client, "livez", 200) == {"status": "OK"}
    assert probe(client, "startupz", 200) == {"status": "started"}
    ready = {"status": "ready", "hsm": "OK", "database": "OK"}
    assert probe(client, "readyz", 200) == ready
    assert probe(client, "", 200) == ready
    assert probe(client, "resolversz", 200) == {"status": "OK"}
    assert audit_count(services) == before


def test_readyz_says_503_when_the_database_is_unreachable(services: Services) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    unreachable = make_engine(f"postgresql+psycopg://nobody@127.0.0.1:{port}/none")
    # The probes of a server whose health service sees a database that is down.
    health = HealthService(unreachable, services.users)
    try:
        down = dataclasses.replace(services, health=health)
        with TestClient(create_app(down), raise_server_exceptions=False) as client:
            expected = {"status": "not ready", "hsm": "OK", "database": "fail"}
            assert probe(client, "readyz", 503) == expected
            assert probe(client, "", 503) == expected
            assert probe(client, "livez", 200) == {"status": "OK"}
    finally:
        health.close()
        unreachable.dispose()


def add_resolver(client: TestClient, headers: H, name: str, **data: object) -> None:
    fields = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in data.items()}
    ok(client.post(f"/resolver/{name}", data=fields, headers=headers))


def test_resolversz_checks_sql_and_ldap_stores_within_a_deadline(
    client: TestClient,
    services: Services,
    admin_headers: H,
    flatfile_realm: str,
    tmp_path: Path,
    silent_port: int,
) -> None:
    people = f"sqlite:///{tmp_path / 'people.sqlite'}"
    fill_table(people)
    add_resolver(client, admin_headers, "people", type="sqlresolver", URL=people,
                 Table="people", Map=dict(SQL_MAP))  # fmt: skip
    gone = f"sqlite:///{tmp_path / 'nothing-here' / 'gone.sqlite'}"
    add_resolver(client, admin_headers, "gone", type="sqlresolver", URL=gone,
                 Table="people", Map=dict(SQL_MAP))  # fmt: skip
    add_resolver(client, admin_headers, "silent", type="ldapresolver",
                 LDAPURI=f"ldap://127.0.0.1:{silent_port}", LDAPBASE="dc=example,dc=org",
                 LOGINNAMEATTRIBUTE="uid", LDAPSEARCHFILTER="(uid=*)",
                 USERINFO={"username": "uid"}, UIDTYPE="DN", TIMEOUT="30")  # fmt: skip
    services.health.timeout = 1.0  # the directory would keep us waiting for 30 s

    assert probe(client, "resolversz", 200) == {"status": "fail"}
    detailed = probe(client, "resolversz", 200, admin_headers)
    assert detailed == {
        "status": "fail",
        "ldapresolver": {"silent": "fail"},
        "sqlresolver": {"gone": "fail", "people": "OK"},
    }
    assert "BINDPW" not in json.dumps(detailed) and people not in json.dumps(detailed)


def test_resolversz_refuses_a_bad_or_non_admin_token(
    client: TestClient, admin_headers: H, flatfile_realm: str
) -> None:
    bad = client.get("/healthz/resolversz", headers={"Authorization": "not-a-jwt"})
    assert bad.status_code == 401 and bad.json()["result"]["status"] is False
    alice = client.get("/healthz/resolversz", headers=user_headers(client, "alice"))
    assert alice.status_code == 401 and alice.json()["result"]["status"] is False
