"""Helpers for the event framework tests: definitions through the API, tokens as rows,
and Facts for unit tests of conditions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from factorflow.audit.record import AuditRecord
from factorflow.bootstrap import Services
from factorflow.core.invocation import Actor, Invocation, Outcome, Reply
from factorflow.events.facts import Facts
from tests import factories

DefinitionMaker = Callable[..., int]


@pytest.fixture
def define(client: TestClient, admin_headers: dict[str, str]) -> DefinitionMaker:
    """POST /event with privacyIDEA's parameters (:func:`tests.factories.define`)."""

    def make(**fields: Any) -> int:
        return factories.define(client, admin_headers, **fields)

    return make


@pytest.fixture
def session(services: Services) -> Iterator[Session]:
    with services.sessions() as s:
        yield s
        s.rollback()


#: A token row; ``owner`` = (realm, resolver, uid).
add_token = factories.token_row


def make_facts(
    services: Services,
    session: Session,
    *,
    event: str = "validate_check",
    params: dict[str, Any] | None = None,
    actor: Actor | None = None,
    client_ip: str = "",
    reply: Reply | None = None,
    outcome: Outcome | None = None,
    audit_serial: str = "",
    user_agent: str = "",
) -> Facts:
    inv = Invocation(
        event=event,
        method="POST",
        rule="/validate/check",
        params=dict(params or {}),
        client_ip=client_ip,
        user_agent=user_agent,
        actor=actor or Actor(),
    )
    audit = AuditRecord.begin(inv, node="testnode")
    audit.serial = audit_serial
    if outcome is not None:
        reply = Reply(outcome=outcome)
    return services.event_ports.facts(session, inv, audit, reply=reply)
