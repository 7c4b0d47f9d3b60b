"""Inserting many new tokens in a few statements (``factorflow migrate``).

A flush inserts a token and each of its rows with one statement apiece (the ORM
needs every new row's id back, which SQLite cannot return for a batch in order).
:func:`insert_new` writes the tokens of a batch with one executemany, reads their
ids back by serial, then writes their tokeninfo, owner, realm and group rows with
one executemany per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, inspect, select
from sqlalchemy.orm import Session

from factorflow.tokens.models import Token, TokenGroupMember, TokenInfo, TokenOwner, TokenRealm

#: Serials per ``IN (...)``: within every database's limit of bound parameters.
CHUNK = 500


def insert_new(session: Session, tokens: Sequence[Token]) -> None:
    """Insert ``tokens`` — transient, with distinct serials that are not in the
    database, their relations set (info, owner, realms, groups) as a flush would."""
    if not tokens:
        return
    columns = [attr.key for attr in inspect(Token).column_attrs if attr.key != "id"]
    session.execute(
        insert(Token), [{k: t.__dict__[k] for k in columns if k in t.__dict__} for t in tokens]
    )
    ids: dict[str, int] = {}
    serials = [t.serial for t in tokens]
    for start in range(0, len(serials), CHUNK):
        chunk = serials[start : start + CHUNK]
        found = session.execute(select(Token.serial, Token.id).where(Token.serial.in_(chunk)))
        ids.update((serial, token_id) for serial, token_id in found)
    rows: dict[type[Any], list[dict[str, Any]]] = {
        TokenInfo: [],
        TokenOwner: [],
        TokenRealm: [],
        TokenGroupMember: [],
    }
    for token in tokens:
        token_id = ids[token.serial]
        rows[TokenInfo].extend(
            {"token_id": token_id, "key": i.key, "value": i.value, "type": i.type or ""}
            for i in token.info
        )
        if token.owner is not None:
            owner = token.owner
            rows[TokenOwner].append(
                {
                    "token_id": token_id,
                    "resolver": owner.resolver,
                    "user_id": owner.user_id,
                    "realm_id": owner.realm.id,
                }
            )
        rows[TokenRealm].extend(
            {"token_id": token_id, "realm_id": r.realm.id} for r in token.realms
        )
        rows[TokenGroupMember].extend(
            {"token_id": token_id, "tokengroup_id": m.group.id} for m in token.groups
        )
    for model, values in rows.items():
        if values:
            session.execute(insert(model), values)
