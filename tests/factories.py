"""Factories for tests: users and realms, tokens, event definitions and the
configurations they name — small functions over the real API, plus token rows for the
tests that need a token in a state no API call produces.

Everything here goes through public interfaces, so that a change inside a service
or a plug-in API is adapted in one place. In-process runs of event actions are kept
out of here on purpose: the suites drive handlers through saved definitions and real
requests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from httpx import Response
from passlib.hash import sha512_crypt
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from factorflow.tokens.models import Token, TokenOwner, TokenRealm
from factorflow.users.models import Realm

H = dict[str, str]


def ok_value(response: Response) -> Any:
    """The ``result.value`` of a successful privacyIDEA envelope."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"]["status"] is True, body
    return body["result"]["value"]


# -- users and realms ---------------------------------------------------------------------


def passwd_line(login: str, uid: int, password: str, gecos: str) -> str:
    """One line of a passwd file (sha512-crypt, the cheapest rounds)."""
    hashed = sha512_crypt.hash(password, rounds=5000)
    return f"{login}:{hashed}:{uid}:{uid}:{gecos}:/home/{login}:/bin/sh"


def write_passwd(path: Path, users: Mapping[str, tuple[int, str, str]]) -> Path:
    """A passwd file of ``login → (uid, password, gecos)``; gecos is privacyIDEA's
    ``Full Name,,phone,mobile,email``."""
    lines = [passwd_line(login, uid, pw, gecos) for login, (uid, pw, gecos) in users.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def resolver_form(options: Mapping[str, Any]) -> dict[str, Any]:
    """Store options as a client sends them in a form: dicts (USERINFO, Map) as JSON."""
    return {k: json.dumps(v) if isinstance(v, dict) else v for k, v in options.items()}


def add_resolver(client: TestClient, headers: H, name: str, type_name: str, **options: Any) -> None:
    """``POST /resolver/<name>`` of ``type_name`` with privacyIDEA's option names."""
    data = {"type": type_name, **resolver_form(options)}
    ok_value(client.post(f"/resolver/{name}", data=data, headers=headers))


def add_realm(client: TestClient, headers: H, name: str, resolvers: str | Sequence[str]) -> None:
    """``POST /realm/<name>`` with these resolvers (the first realm is the default)."""
    listed = resolvers if isinstance(resolvers, str) else ",".join(resolvers)
    ok_value(client.post(f"/realm/{name}", data={"resolvers": listed}, headers=headers))


def flatfile_realm(
    client: TestClient, headers: H, passwd: Path, realm: str = "realm1", resolver: str = ""
) -> str:
    """A flat-file resolver reading ``passwd`` in its own realm; returns the realm."""
    resolver = resolver or f"{realm}-files"
    add_resolver(client, headers, resolver, "passwdresolver", fileName=str(passwd))
    add_realm(client, headers, realm, resolver)
    return realm


# -- tokens -------------------------------------------------------------------------------


def enrol(client: TestClient, headers: H, type_name: str, **params: Any) -> dict[str, Any]:
    """``POST /token/init``; returns the answer's ``detail`` (``serial`` among it)."""
    response = client.post("/token/init", data={"type": type_name, **params}, headers=headers)
    ok_value(response)
    detail: dict[str, Any] = response.json()["detail"]
    return detail


def token_of(client: TestClient, headers: H, serial: str) -> dict[str, Any]:
    """The token as ``GET /token/`` lists it."""
    tokens = ok_value(client.get("/token/", params={"serial": serial}, headers=headers))["tokens"]
    assert len(tokens) == 1, tokens
    token: dict[str, Any] = tokens[0]
    return token


def token_row(
    session: Session,
    serial: str,
    *,
    tokentype: str = "spass",
    owner: tuple[str, str, str] | None = None,
    realms: tuple[str, ...] = (),
    **columns: Any,
) -> Token:
    """A token row as it is, for states no API call produces (revoked and active,
    a failcounter at a given value); ``owner`` = (realm, resolver, uid)."""
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


# -- configurations definitions name ------------------------------------------------------


def add_smtp_server(
    client: TestClient, headers: H, identifier: str, port: int, **extra: Any
) -> None:
    """``POST /smtpserver/<identifier>``: an SMTP server on loopback ``port``."""
    data = {"server": "127.0.0.1", "port": str(port), "sender": "mfa@example.org", **extra}
    ok_value(client.post(f"/smtpserver/{identifier}", data=data, headers=headers))


def add_sms_gateway(client: TestClient, headers: H, identifier: str, url: str) -> None:
    """``POST /smsgateway``: an HTTP SMS gateway posting ``{otp}`` to ``url``."""
    form = {"name": identifier, "module": "http", "option.URL": url,
            "option.HTTP_METHOD": "POST", "option.to": "{phone}", "option.text": "{otp}"}  # fmt: skip
    ok_value(client.post("/smsgateway", data=form, headers=headers))


def add_remote_server(client: TestClient, headers: H, identifier: str, url: str) -> None:
    """``POST /privacyideaserver/<identifier>``: a remote privacyIDEA server."""
    data = {"url": url, "tls": "0", "timeout": "2"}
    ok_value(client.post(f"/privacyideaserver/{identifier}", data=data, headers=headers))


# -- event definitions --------------------------------------------------------------------


def definition_form(**fields: Any) -> dict[str, Any]:
    """privacyIDEA's ``POST /event`` form: ``options`` become ``option.<name>``,
    ``conditions`` JSON; the other fields are sent as they are."""
    data: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "options":
            data.update({f"option.{k}": v for k, v in value.items()})
        elif key == "conditions":
            data["conditions"] = json.dumps(value)
        else:
            data[key] = value
    return data


def save_definition(client: TestClient, headers: H, **fields: Any) -> Response:
    """``POST /event`` with :func:`definition_form`; the answer as it is."""
    return client.post("/event", data=definition_form(**fields), headers=headers)


def define(client: TestClient, headers: H, **fields: Any) -> int:
    """Save a definition that must be accepted; returns its id."""
    return int(ok_value(save_definition(client, headers, **fields)))


def definitions(client: TestClient, headers: H) -> list[dict[str, Any]]:
    """Every stored definition as ``GET /event/`` lists it."""
    listed: list[dict[str, Any]] = ok_value(client.get("/event/", headers=headers))
    return listed


def audit_entries(client: TestClient, headers: H, **filters: str) -> list[dict[str, Any]]:
    """``GET /audit/`` entries matching ``filters`` (privacyIDEA's ``*`` wildcards),
    oldest first."""
    params = {"page_size": "200", "sortorder": "asc", **filters}
    found: list[dict[str, Any]] = ok_value(client.get("/audit/", params=params, headers=headers))[
        "auditdata"
    ]
    return found
