from __future__ import annotations

from sqlalchemy import delete, select, update
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services
from tests.conftest import ADMIN_NAME


def audit_rows(
    client: TestClient, headers: dict[str, str], **filters: str
) -> list[dict[str, object]]:
    body = client.get("/audit/", params=filters, headers=headers).json()
    assert body["result"]["status"] is True, body
    rows: list[dict[str, object]] = body["result"]["value"]["auditdata"]
    return rows


def test_every_request_is_audited(client: TestClient, admin_headers: dict[str, str]) -> None:
    client.post(
        "/auth",
        data={"username": ADMIN_NAME, "password": "wrong-password"},
        headers={"User-Agent": "privacyIDEA-LDAP-Proxy/1.2"},
    )
    rows = audit_rows(client, admin_headers, action="POST /auth")
    failed = [r for r in rows if r["success"] == 0]
    assert len(failed) == 1
    assert failed[0]["user"] == ADMIN_NAME
    assert failed[0]["user_agent"] == "privacyIDEA-LDAP-Proxy"
    assert failed[0]["user_agent_version"] == "1.2"
    assert failed[0]["client"] == "testclient"
    assert failed[0]["privacyidea_server"] == "testnode"
    assert failed[0]["sig_check"] == "OK"
    ok = [r for r in rows if r["success"] == 1]
    assert ok and ok[0]["administrator"] == ADMIN_NAME


def test_filters_wildcards_and_paging(client: TestClient, admin_headers: dict[str, str]) -> None:
    for _ in range(4):
        client.get("/audit/", headers=admin_headers)
    body = client.get(
        "/audit/",
        params={"action": "GET /audit*", "page_size": 2, "sortorder": "asc"},
        headers=admin_headers,
    ).json()
    value = body["result"]["value"]
    assert value["auditcolumns"][:3] == ["number", "action", "success"]
    assert set(value["auditcolumns"]) <= set(value["auditdata"][0])
    assert value["count"] >= 4
    assert len(value["auditdata"]) == 2
    assert value["next"] == 2 and value["prev"] is None
    assert value["auditdata"][0]["number"] < value["auditdata"][1]["number"]
    none = client.get("/audit/", params={"user": "nobody%"}, headers=admin_headers).json()
    assert none["result"]["value"]["count"] == 0


def test_bad_audit_parameters(client: TestClient, admin_headers: dict[str, str]) -> None:
    for params in (
        {"timelimit": "forever"},
        {"page_size": "0"},
        {"page": "x"},
        {"sortorder": "up"},
    ):
        response = client.get("/audit/", params=params, headers=admin_headers)
        assert response.status_code == 400, params
        assert response.json()["result"]["status"] is False


def test_sig_check_and_missing_line_as_privacyidea_reports_them(
    client: TestClient, services: Services, admin_headers: dict[str, str]
) -> None:
    """sig_check: the entry's signature and link verify; missing_line: the entries just
    before and after it exist (so the newest entry always says FAIL, as in privacyIDEA)."""
    for _ in range(5):
        client.get("/audit/", headers=admin_headers)
    with services.sessions.begin() as session:
        ids = sorted(session.scalars(select(AuditEntry.id)))
        session.execute(update(AuditEntry).where(AuditEntry.id == ids[1]).values(info="rewritten"))
        session.execute(delete(AuditEntry).where(AuditEntry.id == ids[3]))
    rows = {r["number"]: r for r in audit_rows(client, admin_headers, sortorder="asc")}
    assert rows[ids[1]]["sig_check"] == "FAIL"
    assert rows[ids[2]]["sig_check"] == "OK" and rows[ids[2]]["missing_line"] == "FAIL"
    assert rows[ids[4]]["sig_check"] == "FAIL"  # its link names the deleted entry
    assert rows[ids[0]]["missing_line"] == "OK"  # the first: nothing can be before it
    assert rows[ids[1]]["missing_line"] == "OK"
    assert rows[ids[-1]]["missing_line"] == "FAIL"  # nothing after it (yet)
