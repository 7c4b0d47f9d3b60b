"""``GET /audit/<file>.csv``: privacyIDEA's download of the audit log, with the
filters of ``GET /audit/``, streamed in batches."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from factorflow.api.routes import audit as audit_routes
from factorflow.bootstrap import Services
from tests.audit.chain_helpers import record, write
from tests.policies.conftest import HELPDESK, policy_data
from tests.tokens.helpers import assert_error

H = dict[str, str]


def download(client: TestClient, headers: H, name: str = "audit.csv", **filters: str) -> list[str]:
    response = client.get(f"/audit/{name}", params=filters, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f"attachment; filename={name}"
    return response.text.splitlines()


def fields(line: str) -> list[str]:
    """Split a line of single-quoted values (a doubled quote stands for one)."""
    assert line.startswith("'") and line.endswith("'"), line
    return [value.replace("''", "'") for value in line[1:-1].split("','")]


def test_the_filtered_log_as_csv_oldest_first(
    client: TestClient, services: Services, admin_headers: H, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_routes, "CSV_BATCH", 2)  # several batches
    written = write(services, 5, label="exported")
    write(services, 2, label="other")
    lines = download(client, admin_headers, info="exported-*")
    rows = [fields(line) for line in lines]
    assert [int(row[0]) for row in rows] == written
    assert {row[4] for row in rows} == {"OK"}  # sig_check
    assert rows[0][6] == "POST /test/exported-0"
    everything = download(client, admin_headers, "all-entries.csv")
    assert len(everything) >= 7


def test_quotes_and_line_breaks_stay_inside_their_value(
    client: TestClient, services: Services, admin_headers: H
) -> None:
    entry = record("odd")
    entry.info = "it's\nodd, isn't it"
    services.audit.write(entry)
    (line,) = download(client, admin_headers, action="POST /test/odd")
    assert "it's\\nodd, isn't it" in fields(line)
    assert "'it''s\\nodd, isn''t it'" in line


@pytest.mark.parametrize(
    ("name", "params"),
    [("bad name.csv", {}), (".hidden.csv", {}), ("audit.csv", {"timelimit": "forever"})],
)
def test_bad_downloads_are_refused(
    client: TestClient, admin_headers: H, name: str, params: dict[str, str]
) -> None:
    assert_error(client.get(f"/audit/{name}", params=params, headers=admin_headers), 400)


def test_the_download_needs_its_own_right(
    client: TestClient, services: Services, admin_headers: H, helpdesk_headers: H
) -> None:
    for name, action, adminuser in (
        ("superuser", "policywrite, auditlog, auditlog_download", "admin"),
        ("helpdesk-reads", "auditlog", HELPDESK[0]),
    ):
        response = client.post(
            f"/policy/{name}",
            data=policy_data({"scope": "admin", "action": action, "adminuser": adminuser}),
            headers=admin_headers,
        )
        assert response.status_code == 200, response.text
    assert client.get("/audit/", headers=helpdesk_headers).status_code == 200
    assert_error(client.get("/audit/audit.csv", headers=helpdesk_headers), 403)
    assert download(client, admin_headers)


def test_an_export_can_be_limited_to_user_realms(services: Services) -> None:
    for realm in ("Realm1", "realm2", "realm1"):
        entry = record(f"in-{realm}")
        entry.realm = realm
        services.audit.write(entry)
    with services.sessions() as session:
        found = services.audit.batch_after(
            session, {}, timelimit=None, after=0, size=10, realms={"realm1"}
        )
    assert [e.realm for e in found] == ["Realm1", "realm1"]
