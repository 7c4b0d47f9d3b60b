"""The audit entry of a request for an unknown user."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from factorflow.audit.models import AuditEntry
from factorflow.bootstrap import Services


def test_unknown_user_is_audited_by_the_name_given(
    client: TestClient, services: Services, flatfile_realm: str
) -> None:
    """A check for an unknown user keeps privacyIDEA's 904 answer, and its audit entry
    names the login and realm the request gave (the dashboard lists whom it was for)."""
    answer = client.post("/validate/check", data={"user": "nosuch", "pass": "x"})
    assert answer.status_code == 400
    assert answer.json()["result"]["error"]["code"] == 904
    with services.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "POST /validate/check")
        ).one()
    assert (entry.user, entry.realm, entry.resolver) == ("nosuch", "realm1", "")
    assert entry.info == "User <nosuch@realm1> does not exist."
