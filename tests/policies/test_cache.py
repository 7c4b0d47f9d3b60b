"""The policy cache: a change is seen by another process within the reload interval."""

from __future__ import annotations

from factorflow.bootstrap import Services
from factorflow.policies.actions import build_catalog
from factorflow.policies.matching import MatchContext
from factorflow.policies.service import PolicyService


def test_other_process_sees_change_after_version_bump(services: Services) -> None:
    writer = services.policies
    reader = PolicyService(build_catalog(["hotp"]), reload_seconds=0.0)
    with services.sessions() as session:
        assert not reader.defined(session, "admin")
    with services.sessions.begin() as session:
        writer.save(session, "p", {"scope": "admin", "action": "disable"})
    with services.sessions() as session:
        assert reader.defined(session, "admin")
        assert writer.defined(session, "admin")  # invalidated on commit, no wait
    with services.sessions.begin() as session:
        writer.set_active(session, "p", False)
    with services.sessions() as session:
        assert not reader.defined(session, "admin")


def test_uncommitted_changes_never_reach_the_cache(services: Services) -> None:
    policies = services.policies
    session = services.sessions()
    try:
        policies.save(session, "p", {"scope": "admin", "action": "disable"})
        assert policies.view(session, "admin", MatchContext()).names == ["p"]
        session.rollback()
    finally:
        session.close()
    with services.sessions() as other:
        assert not policies.defined(other, "admin")
