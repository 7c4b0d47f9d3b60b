"""Alembic environment: the engine comes from Factorflow's settings, never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

import factorflow.models  # noqa: F401  (registers every table on the metadata)
from factorflow.db.base import Base

target_metadata = Base.metadata


def run() -> None:
    engine: Engine | None = context.config.attributes.get("engine")
    if engine is None:
        from factorflow.db.base import make_engine
        from factorflow.settings import Settings

        engine = make_engine(Settings().effective_database_url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
