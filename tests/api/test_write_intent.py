"""Endpoints declare whether they write; the pipeline never guesses it from the
request's method (``GET /validate/check`` writes counters like its POST)."""

from __future__ import annotations

import sqlite3

import pytest
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from factorflow.api.app import collect_routes
from factorflow.api.routing import Call, Endpoint
from factorflow.bootstrap import Services
from factorflow.core.invocation import Invocation, Outcome
from factorflow.pipeline import Access, Pipeline
from tests.conftest import BACKEND


def endpoints() -> dict[tuple[str, str], bool]:
    return {
        (method, path): spec.endpoint.writes
        for routes in collect_routes()
        for spec in routes.specs
        for path in spec.paths
        for method in spec.methods
    }


def test_routes_declare_their_writes() -> None:
    declared = endpoints()
    assert declared[("GET", "/validate/check")] is True
    assert declared[("GET", "/validate/radiuscheck")] is True
    assert declared[("GET", "/validate/triggerchallenge")] is True
    assert declared[("POST", "/auth")] is True
    assert declared[("GET", "/validate/polltransaction")] is False
    assert declared[("GET", "/token/")] is False


class NoParams(BaseModel):
    pass


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's single writer makes it visible")
@pytest.mark.parametrize(("writes", "method"), [(True, "GET"), (False, "POST")])
def test_the_declaration_not_the_method_decides(
    services: Services, writes: bool, method: str
) -> None:
    """A writer holds SQLite's write lock from its first moment, whatever the method; a
    reader takes none."""
    path = make_url(services.settings.effective_database_url).database
    assert path
    seen: list[bool] = []

    def handler(call: Call[NoParams]) -> Outcome:
        probe = sqlite3.connect(path, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            seen.append(False)
        except sqlite3.OperationalError:  # database is locked: this unit is a writer
            seen.append(True)
        finally:
            probe.close()
        return Outcome(value=True)

    endpoint: Endpoint[NoParams] = Endpoint(
        event="test_event", params=NoParams, handler=handler, access=Access.PUBLIC, writes=writes
    )
    pipeline = Pipeline(services.pipeline_ports, services)
    reply = pipeline.run(Invocation("test_event", method, "/t", {}), endpoint)
    assert reply.error is None
    assert seen == [writes]
