"""Fresh databases per run: SQLite files in the data directory, or PostgreSQL databases."""

from __future__ import annotations

import os

PG_HOST = os.environ.get("FACTORFLOW_BENCH_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("FACTORFLOW_BENCH_PG_PORT", "5432")
PG_USER = os.environ.get("FACTORFLOW_BENCH_PG_USER", "postgres")


def create_postgres(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_postgres(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=3
        ):
            return True
    except Exception:
        return False


def url(driver: str, name: str) -> str:
    return f"postgresql+{driver}://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
