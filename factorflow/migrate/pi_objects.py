"""privacyIDEA's configuration objects → items: user stores, realms, token groups,
admins, SMTP servers, SMS gateways, privacyIDEA servers, policies, event definitions,
event counters.

Each item calls the service use case that the matching privacyIDEA-compatible API
call would, with privacyIDEA's own parameter names, so the same validation applies;
values eduMFA renamed (handler modules, policy actions, ...) are handed on under
privacyIDEA's names (:attr:`PiSource.names`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from factorflow.events.service import DefinitionInput
from factorflow.migrate.items import Item, digest, refused
from factorflow.migrate.pi_crypto import PiDecryptionError, PiKeys
from factorflow.migrate.pi_source import PiSource, Row
from factorflow.migrate.target import MigrationTarget

#: Policy columns Factorflow cannot honour; a policy using one is not imported (it
#: would apply more widely than it did).
UNSUPPORTED_POLICY_FIELDS = ("pinode", "user_agents")
POLICY_FIELDS = ("realm", "adminrealm", "adminuser", "resolver", "user", "client", "time")


def resolver_items(source: PiSource, keys: PiKeys, target: MigrationTarget) -> Iterator[Item]:
    config: dict[int, list[Row]] = defaultdict(list)
    for row in source.rows("resolverconfig"):
        config[row["resolver_id"]].append(row)
    for resolver in source.rows("resolver"):
        name, rtype = str(resolver["name"]), str(resolver["rtype"])
        rows = config.get(resolver["id"], [])
        try:
            fields = {
                str(r["key"]): keys.config_secret(str(r["value"]))
                if r.get("type") == "password" and r["value"]
                else r["value"]
                for r in rows
            }
        except PiDecryptionError as exc:
            yield refused("resolver", name, f"its password cannot be read: {exc}")
            continue

        def apply(session: Session, name: str = name, rtype: str = rtype, f: Any = fields) -> None:
            target.users.save_resolver(session, name, rtype, f)

        yield Item("resolver", name, digest([resolver, rows]), apply)


def realm_items(source: PiSource, target: MigrationTarget) -> Iterator[Item]:
    resolvers = {row["id"]: row["name"] for row in source.rows("resolver")}
    members: dict[int, list[Row]] = defaultdict(list)
    for row in source.rows("resolverrealm"):
        members[row["realm_id"]].append(row)
    default = ""
    for realm in source.rows("realm"):
        name = str(realm["name"])
        rows = members.get(realm["id"], [])
        names = [str(resolvers[r["resolver_id"]]) for r in rows]
        priorities = {str(resolvers[r["resolver_id"]]): r.get("priority") for r in rows}
        if realm.get("default"):
            default = name

        def apply(session: Session, n: str = name, r: Any = names, p: Any = priorities) -> None:
            target.users.save_realm(session, n, r, p)

        yield Item("realm", name, digest([realm, rows]), apply)
    if default:

        def set_default(session: Session) -> None:
            target.users.set_default_realm(session, default)

        yield Item("default realm", default, digest(default), set_default)


def tokengroup_items(source: PiSource, target: MigrationTarget) -> Iterator[Item]:
    for row in source.rows("tokengroup"):
        name, description = str(row["name"]), str(row.get("description") or "")

        def apply(session: Session, n: str = name, d: str = description) -> None:
            target.tokens.groups.add(session, n, d)

        yield Item("token group", name, digest(row), apply)


def admin_items(source: PiSource, target: MigrationTarget) -> Iterator[Item]:
    for row in source.rows("admin"):
        name = str(row["username"])
        password, email = str(row["password"] or ""), str(row.get("email") or "")

        def apply(session: Session, n: str = name, p: str = password, e: str = email) -> None:
            target.admins.import_admin(session, n, p, e)

        yield Item("admin", name, digest(row), apply)


def smtp_items(source: PiSource, keys: PiKeys, target: MigrationTarget) -> Iterator[Item]:
    for row in source.rows("smtpserver"):
        name = str(row["identifier"])
        try:
            password = keys.config_secret(str(row["password"])) if row["password"] else ""
        except PiDecryptionError as exc:
            yield refused("SMTP server", name, f"its password cannot be read: {exc}")
            continue
        port = int(row["port"] or 25)
        # privacyIDEA's "tls" upgrades the connection (STARTTLS); port 465 speaks TLS
        # from the first byte.
        tls = bool(row["tls"])
        fields = {
            "server": row["server"],
            "port": port,
            "username": row["username"] or "",
            "password": password,
            "sender": row["sender"],
            "tls": tls and port == 465,
            "starttls": tls and port != 465,
            "timeout": row.get("timeout") or 10,
            "description": row.get("description") or "",
        }

        def apply(session: Session, n: str = name, f: Any = fields) -> None:
            target.notify.save_smtp(session, n, f)

        yield Item("SMTP server", name, digest(row), apply)


def sms_items(source: PiSource, keys: PiKeys, target: MigrationTarget) -> Iterator[Item]:
    options: dict[int, list[Row]] = defaultdict(list)
    for row in source.rows("smsgatewayoption"):
        options[row["gateway_id"]].append(row)
    for gateway in source.rows("smsgateway"):
        name = str(gateway["identifier"])
        rows = options.get(gateway["id"], [])
        fields: dict[str, Any] = {
            "module": source.names.pi_name(str(gateway["providermodule"])),
            "description": gateway.get("description") or "",
        }
        try:
            for row in rows:
                value = str(row["value"] or "")
                if row.get("encrypted") and value:
                    value = keys.config_secret(value)
                part = "header" if row.get("type") == "header" else "option"
                fields[f"{part}.{row['key']}"] = value
        except PiDecryptionError as exc:
            yield refused("SMS gateway", name, f"an option cannot be read: {exc}")
            continue

        def apply(session: Session, n: str = name, f: Any = fields) -> None:
            target.notify.save_sms(session, n, f)

        yield Item("SMS gateway", name, digest([gateway, rows]), apply)


def server_items(source: PiSource, target: MigrationTarget) -> Iterator[Item]:
    """privacyIDEA server definitions (the Federation handler's targets)."""
    for row in source.rows("privacyideaserver"):
        name = str(row["identifier"])
        fields = {
            "url": row["url"],
            # privacyIDEA verifies the certificate unless tls is off; a NULL is on.
            "tls": row["tls"] is None or bool(row["tls"]),
            "description": row.get("description") or "",
        }

        def apply(session: Session, n: str = name, f: Any = fields) -> None:
            target.federation.save(session, n, f)

        yield Item("privacyIDEA server", name, digest(row), apply)


def policy_items(source: PiSource, target: MigrationTarget) -> Iterator[Item]:
    conditions: dict[int, list[Row]] = defaultdict(list)
    for row in source.rows("policycondition"):
        conditions[row["policy_id"]].append(row)
    for row in source.rows("policy"):
        name = str(row["name"])
        used = [f for f in UNSUPPORTED_POLICY_FIELDS if row.get(f)]
        if used:
            column = source.names.source_column(used[0])
            yield refused("policy", name, f"Factorflow has no policy condition {column!r}")
            continue
        if row.get("check_all_resolvers"):
            yield refused("policy", name, "Factorflow has no 'check_all_resolvers'")
            continue
        action = row["action"]
        params: dict[str, Any] = {
            "scope": row["scope"],
            "action": source.names.pi_actions(action) if isinstance(action, str) else action,
            "priority": row.get("priority") or 1,
            "active": bool(row["active"]),
            "description": row.get("description") or "",
            **{f: row[f] or "" for f in POLICY_FIELDS},
        }
        extra = conditions.get(row["id"], [])
        if extra:
            params["conditions"] = [
                [c["section"], c["key"], c["comparator"], c["value"], bool(c["active"])]
                for c in extra
            ]

        def apply(session: Session, n: str = name, p: Any = params) -> None:
            target.policies.save(session, n, p)

        yield Item("policy", name, digest([row, extra]), apply)


def event_items(source: PiSource, target: MigrationTarget) -> Iterator[Item]:
    conditions: dict[int, list[Row]] = defaultdict(list)
    for row in source.rows("eventhandlercondition"):
        conditions[row["eventhandler_id"]].append(row)
    options: dict[int, list[Row]] = defaultdict(list)
    for row in source.rows("eventhandleroption"):
        options[row["eventhandler_id"]].append(row)
    names = source.names
    who = f"migrate:{names.marker}"
    for row in source.rows("eventhandler"):
        name, pi_id = str(row["name"]), row["id"]
        conds, opts = conditions.get(pi_id, []), options.get(pi_id, [])
        odd = [c["key"] for c in conds if (c.get("comparator") or "equal") != "equal"]
        if odd:
            yield refused("event", name, f"condition {odd[0]!r} uses a comparator other than equal")
            continue
        # The same privacyIDEA definition keeps one Factorflow definition across runs.
        uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{names.marker}:eventhandler:{pi_id}"))
        data = DefinitionInput(
            uid=uid,
            name=name,
            events=[e.strip() for e in str(row["event"] or "").split(",") if e.strip()],
            handlermodule=names.pi_name(str(row["handlermodule"])),
            action=row["action"],
            position=row.get("position") or "post",
            ordering=int(row.get("ordering") or 0),
            active=bool(row["active"]),
            abort_on_error=bool(row.get("abort_on_error")),
            options={names.pi_name(str(o["key"])): o["value"] for o in opts},
            conditions={str(c["key"]): c["value"] for c in conds},
            clear_options=True,
        )

        def apply(session: Session, d: DefinitionInput = data) -> None:
            existing = target.events.by_uid(session, d.uid or "")
            given = DefinitionInput(**{**vars(d), "id": existing.id if existing else None})
            target.events.save(session, given, who)

        yield Item("event", name, digest([row, conds, opts]), apply)


def counter_items(source: PiSource, target: MigrationTarget) -> Iterator[Item]:
    for row in source.rows("eventcounter"):
        name, node = str(row["counter_name"]), str(row.get("node") or "")
        value = int(row["counter_value"] or 0)

        def apply(session: Session, n: str = name, o: str = node, v: int = value) -> None:
            target.events.set_counter(session, n, o, v)

        yield Item("event counter", f"{name}@{node}", digest(row), apply)
