"""Helpers for the event framework tests: definitions through the API, tokens as rows,
and Facts for unit tests of conditions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from factorflow.audit.record import AuditRecord
from factorflow.bootstrap import Services
from factorflow.core.invocation import Actor, Invocation, Outcome, Reply
from factorflow.events.facts import Facts
from factorflow.tokens.models import Token, TokenOwner, TokenRealm
from factorflow.users.models import Realm

DefinitionMaker = Callable[..., int]


@pytest.fixture
def define(client: TestClient, admin_headers: dict[str, str]) -> DefinitionMaker:
    """POST /event with privacyIDEA's parameters; ``options`` become ``option.<key>``."""

    def make(**fields: Any) -> int:
        data: dict[str, Any] = {}
        for key, value in fields.items():
            if key == "options":
                data.update({f"option.{k}": v for k, v in value.items()})
            elif key == "conditions":
                data["conditions"] = json.dumps(value)
            else:
                data[key] = value
        response = client.post("/event", data=data, headers=admin_headers)
        assert response.status_code == 200, response.text
        return int(response.json()["result"]["value"])

    return make


@pytest.fixture
def session(services: Services) -> Iterator[Session]:
    with services.sessions() as s:
        yield s
        s.rollback()


def add_token(
    session: Session,
    serial: str,
    *,
    tokentype: str = "spass",
    owner: tuple[str, str, str] | None = None,
    realms: tuple[str, ...] = (),
    **columns: Any,
) -> Token:
    """A token row; ``owner`` = (realm, resolver, uid)."""
    token = Token(serial=serial, tokentype=tokentype, **columns)
    session.add(token)
    session.flush()
    if owner is not None:
        realm = session.scalar(select(Realm).where(Realm.name == owner[0]))
        assert realm is not None
        session.add(
            TokenOwner(token_id=token.id, resolver=owner[1], user_id=owner[2], realm_id=realm.id)
        )
    for name in realms:
        realm = session.scalar(select(Realm).where(Realm.name == name))
        assert realm is not None
        session.add(TokenRealm(token_id=token.id, realm_id=realm.id))
    session.flush()
    session.expire(token)
    return token


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
