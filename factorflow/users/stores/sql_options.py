"""Options of the SQL user store (privacyIDEA's ``sqlresolver`` option names)."""

from __future__ import annotations

import json
import re
from typing import Annotated

from pydantic import BeforeValidator, Field, field_serializer, field_validator, model_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from factorflow.core.describe import UI_TYPE, Secret
from factorflow.core.params import PiBool
from factorflow.core.untrusted import UntrustedInputError, json_loads
from factorflow.users.base import StoreOptions

__all__ = ["MAPPABLE", "SqlOptions", "parse_where"]

MAPPABLE = frozenset(
    {
        "userid",
        "username",
        "givenname",
        "surname",
        "email",
        "mobile",
        "phone",
        "password",
        "description",
    }
)
_IDENT = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_$ -]{0,127}$")
_TABLE = re.compile(r"^[A-Za-z0-9_$-]{1,128}(\.[A-Za-z0-9_$-]{1,128})?$")
_CONDITION = re.compile(r"^\s*([A-Za-z0-9_$]+)\s*(==|!=|<>|>=|<=|=|>|<|\blike\b)\s*(.*?)\s*$", re.I)
_AND = re.compile(r"\s+and\s+", re.I)


def _empty_to_none(value: object) -> object:
    return None if value == "" else value


def _parse_map(value: object) -> object:
    if isinstance(value, str):
        try:
            return json_loads(value, "map")
        except UntrustedInputError as exc:
            raise ValueError(
                f"must be a JSON object of attribute → column: {exc.message}"
            ) from None
    return value


def parse_where(text: str) -> list[tuple[str, str, str]]:
    """``a == 1 and b like x*`` → [(column, operator, value), ...]."""
    conditions: list[tuple[str, str, str]] = []
    for part in _AND.split(text.strip()) if text.strip() else []:
        match = _CONDITION.match(part)
        if not match:
            raise ValueError(f"cannot read the condition {part!r}; use: column == value [and ...]")
        column, op, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        conditions.append((column, "==" if op == "=" else op.lower(), value))
    return conditions


class SqlOptions(StoreOptions):
    url: str = Field(
        default="",
        alias="URL",
        max_length=2048,
        title="Database URL",
        description="An SQLAlchemy URL without the password, e.g. "
        "postgresql+psycopg://user@db/users; or give Driver, Server, Database instead.",
    )
    driver: str = Field(
        default="",
        alias="Driver",
        max_length=64,
        title="Driver",
        description="Instead of URL: the SQLAlchemy dialect, e.g. postgresql+psycopg.",
    )
    server: str = Field(default="", alias="Server", max_length=255, title="Server")
    port: Annotated[int | None, BeforeValidator(_empty_to_none)] = Field(
        default=None, alias="Port", ge=1, le=65535, title="Port"
    )
    database: str = Field(default="", alias="Database", max_length=1024, title="Database")
    user: str = Field(default="", alias="User", max_length=255, title="Database user")
    password: Secret = Field(
        default="", alias="Password", max_length=1024, title="Database password"
    )
    con_params: str = Field(
        default="",
        alias="conParams",
        max_length=1024,
        title="Connection parameters",
        description="With Driver: query parameters of the URL, e.g. sslmode=require.",
    )
    encoding: str = Field(default="", alias="Encoding", max_length=32, title="Encoding")
    table: str = Field(
        alias="Table", max_length=257, title="Table", description="table or schema.table"
    )
    map: Annotated[dict[str, str], BeforeValidator(_parse_map)] = Field(
        alias="Map",
        title="Column map (JSON)",
        description='Attribute → column, with userid and username, e.g. {"userid": "id", '
        '"username": "login", "email": "mail"}.',
        json_schema_extra={UI_TYPE: "text"},
    )
    where: str = Field(
        default="",
        alias="Where",
        max_length=2048,
        title="Where",
        description="Conditions every user row meets, e.g. active == 1 and kind == staff.",
    )
    editable: PiBool = Field(default=False, alias="Editable", title="Users can be edited")
    limit: int = Field(
        default=1000,
        alias="Limit",
        ge=1,
        le=100_000,
        title="Limit",
        description="The most rows one search returns.",
    )
    pool_size: int = Field(default=5, alias="poolSize", ge=1, le=100, title="Connection pool size")
    pool_timeout: int = Field(
        default=10, alias="poolTimeout", ge=1, le=600, title="Pool timeout (seconds)"
    )
    pool_recycle: int = Field(
        default=3600,
        alias="poolRecycle",
        ge=1,
        le=86_400,
        title="Pool recycle (seconds)",
        description="Connections older than this are replaced.",
    )
    password_hash_type: str = Field(
        default="",
        alias="Password_Hash_Type",
        max_length=32,
        title="Password hash type",
        description="Accepted for privacyIDEA compatibility; new passwords are always argon2id.",
    )

    @field_validator("table")
    @classmethod
    def _check_table(cls, value: str) -> str:
        if not _TABLE.match(value):
            raise ValueError("use a table name, optionally schema.table (letters, digits, _ $ -)")
        return value

    @field_validator("map")
    @classmethod
    def _check_map(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - MAPPABLE)
        if unknown:
            raise ValueError(
                f"unknown attribute {unknown[0]!r}; known: {', '.join(sorted(MAPPABLE))}"
            )
        for attribute in ("userid", "username"):
            if attribute not in value:
                raise ValueError(f"needs the attribute {attribute!r}")
        for column in value.values():
            if not isinstance(column, str) or not _IDENT.match(column):
                raise ValueError(f"{column!r} is not a column name")
        return value

    @field_serializer("map")
    def _dump_map(self, value: dict[str, str]) -> str:
        # privacyIDEA keeps Map as a JSON string; clients expect it back that way.
        return json.dumps(value, sort_keys=True)

    @field_validator("where")
    @classmethod
    def _check_where(cls, value: str) -> str:
        parse_where(value)
        return value

    @model_validator(mode="after")
    def _check_connection(self) -> SqlOptions:
        self.connection_url()
        return self

    def connection_url(self) -> URL:
        """The SQLAlchemy URL with the password filled in; ValueError if unusable."""
        if self.url and self.driver:
            raise ValueError("give either URL or Driver/Server/Database, not both")
        if self.url:
            try:
                url = make_url(self.url)
            except ArgumentError:
                raise ValueError("URL is not an SQLAlchemy URL") from None
            if url.password is not None:
                raise ValueError("URL must not contain a password; use the Password option")
        elif self.driver:
            query: dict[str, str] = {}
            for pair in filter(None, self.con_params.split("&")):
                key, _, val = pair.partition("=")
                query[key] = val
            url = URL.create(
                self.driver,
                username=self.user or None,
                host=self.server or None,
                port=self.port,
                database=self.database or None,
                query=query,
            )
        else:
            raise ValueError("give URL or Driver (with Server, Database, User)")
        return url.set(password=self.password) if self.password else url
