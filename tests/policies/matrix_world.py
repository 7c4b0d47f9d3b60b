"""The world of the authorization matrix: two realms, spare tokens, a help desk.

Realm ``alpha`` (the default) holds the SQL stores ``res-a`` (alice, bob) and
``res-ab`` (sam); realm ``beta`` holds ``res-b`` (dave, erin) and ``res-ab`` too;
``res-none`` (nina) is in no realm. Every store is editable. The help desk's admin
policy grants every right in ``alpha`` only; the superuser's everywhere.

Tokens (HOTP, RFC 4226 key, PIN 1234, all in the token group ``grp``): ``A-OWN``
(alice), ``A-OWN2`` (bob), ``B-OWN`` (dave), ``B-OWN2`` (erin), the spares
``A-SPARE`` (realm alpha), ``B-SPARE`` (beta), ``AB-SPARE`` (both), and ``POOL`` /
``POOL2`` (no realm). alice@alpha and dave@beta have the custom attribute
``team``.

A scheduled definition with a step has workflows on tokens and users of both realms
(:data:`WORKFLOWS`, explicit ids) and paused runs (:data:`PAUSED`): a scheduled run
(every realm) and batches of steps that hold workflows of alpha, of beta, of both.

The world is built once per module; :meth:`World.snapshot` reads every table a
request may change (and the user stores), :meth:`World.restore` writes a snapshot
back, so each cell of the matrix starts from the same world.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from passlib.hash import sha512_crypt
from sqlalchemy import Engine, MetaData, Table, create_engine, delete, insert, select
from starlette.testclient import TestClient

from factorflow.api.app import create_app
from factorflow.bootstrap import Services, build_services
from factorflow.db.base import Base, utcnow
from factorflow.events.models import EventDefinition, EventPausedRun, EventWorkflow
from factorflow.policies.rights import RIGHTS
from tests.conftest import bearer, empty_tables
from tests.conftest import test_settings as make_settings
from tests.policies.conftest import policy_data
from tests.tokens.helpers import RFC_KEY_HEX, ok
from tests.users.conftest import SQL_MAP, users_table

PIN = "1234"
SUPERUSER = ("admin", "admin-password-1")
HELPDESK = ("helpdesk", "helpdesk-pass-1")
STORES = {"res-a": ("alice", "bob"), "res-b": ("dave", "erin"), "res-ab": ("sam",),
          "res-none": ("nina",)}  # fmt: skip
REALMS = {"alpha": "res-a,res-ab", "beta": "res-b,res-ab"}
OWNED = {"A-OWN": ("alice", "alpha"), "A-OWN2": ("bob", "alpha"), "B-OWN": ("dave", "beta"),
         "B-OWN2": ("erin", "beta")}  # fmt: skip
SPARES = {"A-SPARE": "alpha", "B-SPARE": "beta", "AB-SPARE": "alpha,beta", "POOL": "",
          "POOL2": ""}  # fmt: skip
#: The tables a request may change; a refused request must leave them as they were.
WORLD_TABLES = (
    "token", "tokeninfo", "tokenowner", "tokenrealm", "tokengroup", "tokentokengroup",
    "challenge", "custom_user_attribute", "realm", "realm_resolver", "resolver", "policy",
    "event_definition", "job", "event_workflow", "event_paused_run", "event_stream",
)  # fmt: skip
#: Workflow id -> its subject (a serial, or login@realm) and the paused run holding it.
WORKFLOWS = {101: ("A-OWN", 202), 102: ("POOL", 202), 103: ("B-OWN", 203),
             104: ("alice@alpha", None), 105: ("dave@beta", None), 106: ("A-OWN2", 204),
             107: ("B-OWN2", 204), 108: ("AB-SPARE", None), 109: ("B-SPARE", None)}  # fmt: skip
#: Paused run id -> the step it holds (None: a scheduled run over every realm).
PAUSED = {201: None, 202: 0, 203: 0, 204: 0}
USER_IDS = {"alice@alpha": ("res-a", "1000"), "dave@beta": ("res-b", "1100")}

Rows = dict[str, list[dict[str, Any]]]


def all_admin_rights() -> str:
    rights = {right.admin for right in RIGHTS.values() if right.admin}
    return ", ".join(sorted(rights | {"enrollHOTP", "setdescription"}))


def store_options(url: str) -> dict[str, Any]:
    return {"type": "sqlresolver", "URL": url, "Table": "people", "Map": dict(SQL_MAP),
            "Editable": "1"}  # fmt: skip


@dataclass
class World:
    services: Services
    client: TestClient
    admin: dict[str, str]
    helpdesk: dict[str, str]
    store_urls: dict[str, str]
    initial: Rows

    def snapshot(self) -> Rows:
        rows: Rows = {}
        with self.services.engine.connect() as conn:
            for table in _tables():
                order = [c for c in table.primary_key.columns]
                rows[table.name] = [dict(r._mapping) for r in conn.execute(
                    select(table).order_by(*order))]  # fmt: skip
        for name, url in self.store_urls.items():
            rows[f"store {name}"] = _store_rows(url)
        return rows

    def restore(self, rows: Rows) -> None:
        with self.services.engine.begin() as conn:
            for table in reversed(_tables()):
                conn.execute(delete(table))
            for table in _tables():
                if rows[table.name]:
                    conn.execute(insert(table), rows[table.name])
        for name, url in self.store_urls.items():
            engine = create_engine(url)
            people = users_table(MetaData())
            with engine.begin() as conn:
                conn.execute(delete(people))
                if rows[f"store {name}"]:
                    conn.execute(insert(people), rows[f"store {name}"])
            engine.dispose()


def _tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name in WORLD_TABLES]


def _store_rows(url: str) -> list[dict[str, Any]]:
    engine: Engine = create_engine(url)
    with engine.connect() as conn:
        people = users_table(MetaData())
        rows = [dict(r._mapping) for r in conn.execute(select(people).order_by(people.c.id))]
    engine.dispose()
    return rows


def _fill_store(path: Path, logins: tuple[str, ...], first_uid: int) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    metadata = MetaData()
    people = users_table(metadata)
    metadata.create_all(engine)
    rows = [
        {"id": first_uid + i, "login": login, "given": login.title(), "sur": "Example",
         "phone": "", "mobile": "", "mail": f"{login}@example.com", "descr": "",
         "pw": sha512_crypt.hash(f"{login}-pass-1", rounds=5000), "active": 1}
        for i, login in enumerate(logins)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(people), rows)
    engine.dispose()
    return url


def login(client: TestClient, name: str, password: str) -> dict[str, str]:
    response = client.post("/auth", data={"username": name, "password": password})
    assert response.status_code == 200, response.text
    return bearer(response.json()["result"]["value"]["token"])


def _populate(client: TestClient, admin: dict[str, str], store_urls: dict[str, str]) -> None:
    for name, url in store_urls.items():
        ok(client.post(f"/resolver/{name}", json=store_options(url), headers=admin))
    for realm, resolvers in REALMS.items():
        ok(client.post(f"/realm/{realm}", data={"resolvers": resolvers}, headers=admin))
    ok(client.post("/tokengroup/grp", headers=admin))
    hotp = {"type": "hotp", "otpkey": RFC_KEY_HEX, "pin": PIN}
    for serial, (user, realm) in OWNED.items():
        ok(client.post("/token/init", data={**hotp, "serial": serial, "user": user,
                                            "realm": realm}, headers=admin))  # fmt: skip
    for serial, realms in SPARES.items():
        ok(client.post("/token/init", data={**hotp, "serial": serial, "tokenrealm": realms},
                       headers=admin))  # fmt: skip
    for serial in [*OWNED, *SPARES]:
        ok(client.post(f"/token/group/{serial}/grp", headers=admin))
    for user, realm in (("alice", "alpha"), ("dave", "beta")):
        ok(client.post("/user/attribute", data={"user": user, "realm": realm, "key": "team",
                                                "value": "blue"}, headers=admin))  # fmt: skip
    definition = {"name": "sweep", "schedule": "every 1d", "sweep": "tokens",
                  "handlermodule": "Token", "action": "disable", "active": "0",
                  "steps": json.dumps([{"delay": "1d", "handlermodule": "Token",
                                        "action": "enable"}])}  # fmt: skip
    ok(client.post("/event", data=definition, headers=admin))
    rights = all_admin_rights()
    for name, fields in (
        ("superuser", {"adminuser": SUPERUSER[0]}),
        ("helpdesk-alpha", {"adminuser": HELPDESK[0], "realm": "alpha"}),
    ):
        data = policy_data({"scope": "admin", "action": rights, **fields})
        ok(client.post(f"/policy/{name}", data=data, headers=admin))


def _add_workflows(services: Services) -> None:
    with services.sessions.begin() as session:
        definition_id = session.scalars(select(EventDefinition.id)).one()
        for run_id, step in PAUSED.items():
            session.add(EventPausedRun(id=run_id, definition_id=definition_id, state="paused",
                                       swept=12, matched=10, reason="too many", step=step))  # fmt: skip
        for workflow_id, (subject, held_by) in WORKFLOWS.items():
            row = EventWorkflow(id=workflow_id, definition_id=definition_id, state="running",
                                step=0, due_at=utcnow(), held_by=held_by,
                                running_key=f"{definition_id}:{subject}")  # fmt: skip
            if "@" in subject:
                row.subject_kind = "user"
                row.realm = subject.split("@")[1]
                row.resolver, row.user_uid = USER_IDS[subject]
            else:
                row.subject_kind, row.serial = "token", subject
            session.add(row)


def build_world(data_dir: Path, database_url: str) -> Iterator[World]:
    services = build_services(make_settings(data_dir / "data", database_url), migrate=False)
    empty_tables(services.engine)
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            with services.sessions.begin() as session:
                services.admins.add(session, *SUPERUSER)
                services.admins.add(session, *HELPDESK)
            admin = login(client, *SUPERUSER)
            store_urls = {
                name: _fill_store(data_dir / f"{name}.sqlite", logins, 1000 + 100 * i)
                for i, (name, logins) in enumerate(STORES.items())
            }
            _populate(client, admin, store_urls)
            _add_workflows(services)
            world = World(services, client, admin, login(client, *HELPDESK), store_urls, {})
            world.initial = world.snapshot()
            yield world
    finally:
        services.close()
