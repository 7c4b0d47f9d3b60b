"""Inserting many new tokens in a few statements (``factorflow migrate``).

A flush inserts a token and each of its rows with one statement apiece (the ORM
needs every new row's id back, which SQLite cannot return for a batch in order).
:func:`insert_new` writes the tokens of a batch with one executemany, reads their
ids back by serial, then writes their tokeninfo, owner, realm and group rows with
one executemany per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnDefault, Table, insert, inspect, select
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
    ids = ids_by_serial(session, [t.serial for t in tokens])
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


def ids_by_serial(session: Session, serials: Sequence[str]) -> dict[str, int]:
    """The ids of the tokens ``serials``, :data:`CHUNK` serials per query."""
    ids: dict[str, int] = {}
    for start in range(0, len(serials), CHUNK):
        chunk = serials[start : start + CHUNK]
        found = session.execute(select(Token.serial, Token.id).where(Token.serial.in_(chunk)))
        ids.update((serial, token_id) for serial, token_id in found)
    return ids


@dataclass
class NewRows:
    """A new token as column values: its ``token`` row (``serial`` among them), its
    tokeninfo as (key, value) pairs, its owner (resolver, user id, realm id), realm ids."""

    token: dict[str, Any]
    info: list[tuple[str, str]] = field(default_factory=list)
    owner: tuple[str, str, int] | None = None
    realm_ids: tuple[int, ...] = ()


def insert_rows(session: Session, tokens: Sequence[NewRows]) -> None:
    """:func:`insert_new` without ORM objects, for imports of many thousands of tokens:
    the ORM's bookkeeping per object costs more than the database's work. The rows go
    in as batches (:func:`_insert_many`). The serials must be distinct and new."""
    if not tokens:
        return
    ids = _insert_many(session, _table(Token), [t.token for t in tokens], ids_by="serial")
    info: list[dict[str, Any]] = []
    owners: list[dict[str, Any]] = []
    realms: list[dict[str, Any]] = []
    for new in tokens:
        token_id = ids[new.token["serial"]]
        info.extend({"token_id": token_id, "key": k, "value": v, "type": ""} for k, v in new.info)
        if new.owner is not None:
            resolver, user_id, realm_id = new.owner
            owners.append(
                {
                    "token_id": token_id,
                    "resolver": resolver,
                    "user_id": user_id,
                    "realm_id": realm_id,
                }
            )
        realms.extend({"token_id": token_id, "realm_id": r} for r in new.realm_ids)
    for model, values in ((TokenInfo, info), (TokenOwner, owners), (TokenRealm, realms)):
        if values:
            _insert_many(session, _table(model), values)


def _insert_many(
    session: Session, table: Table, rows: list[dict[str, Any]], *, ids_by: str = ""
) -> dict[str, int]:
    """Insert ``rows`` (the same keys each); with ``ids_by`` (a unique column) answer
    its values' new ids. PostgreSQL: ``COPY`` (psycopg 3 sends an executemany one row
    at a time, and converts each batched statement's parameters anew). Others: an
    executemany, with RETURNING where the dialect batches it ("insertmanyvalues")."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        _copy(session, table, rows)
    elif ids_by and dialect.insert_executemany_returning:
        found = session.execute(insert(table).returning(table.c[ids_by], table.c.id), rows)
        return {key: row_id for key, row_id in found}
    else:
        session.execute(insert(table), rows)
    return ids_by_serial(session, [row[ids_by] for row in rows]) if ids_by else {}


def _copy(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    # COPY applies no Python-side default: the columns left out get theirs here.
    keys = list(rows[0])
    defaults: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.key not in keys and not column.primary_key and isinstance(default, ColumnDefault):
            defaults[column.key] = default.arg(None) if default.is_callable else default.arg
    columns = [*keys, *defaults]
    connection = session.connection()
    # The columns' own bind conversions (UtcDateTime's to naive UTC), as an INSERT has.
    convert = [table.c[name].type.bind_processor(connection.dialect) for name in columns]
    raw = connection.connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{name}"' for name in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            values = [*(row[key] for key in keys), *defaults.values()]
            copy.write_row([f(v) if f else v for f, v in zip(convert, values, strict=True)])


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table
