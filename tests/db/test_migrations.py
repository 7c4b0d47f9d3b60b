from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from factorflow.db.base import Base


def test_migrations_match_the_models(database_url: str) -> None:
    """The migrated database (see conftest) has exactly the tables and columns the models declare."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_every_model_table_exists(database_url: str) -> None:
    engine = create_engine(database_url)
    existing = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(Base.metadata.tables) <= existing
