"""Entries written before the chain (before migration 0004) stay verifiable by their
own signatures; the chain starts after the newest of them and links to it."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from factorflow.audit.chain import ChainSigner
from factorflow.audit.models import AUDIT_TABLE, AuditChainHead
from factorflow.audit.verify import Tamper
from factorflow.bootstrap import Services, build_services
from factorflow.crypto import ensure_key_file
from factorflow.db.base import make_engine, utcnow
from factorflow.db.schema import upgrade
from tests.audit.chain_helpers import delete_ids, verify, write
from tests.conftest import (
    BACKEND,
    MARIADB_ADMIN_URL,
    PG_ADMIN_URL,
    create_database,
    drop_database,
)
from tests.conftest import test_settings as settings_for

CHAIN_MIGRATION = importlib.import_module("factorflow.db.migrations.versions.0004_audit_chain")
LEGACY = 3


def legacy_rows(key: bytes, count: int) -> list[dict[str, object]]:
    """Rows as the audit wrote them before the chain: each signed over its columns and id."""
    signer = ChainSigner(key)
    rows: list[dict[str, object]] = []
    for number in range(1, count + 1):
        row: dict[str, object] = {
            column.name: "" for column in AUDIT_TABLE.columns if column.name != "id"
        }
        row.update(
            id=number,
            date=utcnow(),
            startdate=utcnow(),
            duration=0.25,
            success=True,
            action="POST /validate/check",
            info=f"before the chain {number}",
        )
        row["signature"] = signer.legacy(row)
        rows.append(row)
    return rows


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated only up to the revision before the chain."""
    name = f"ff_chain_{uuid.uuid4().hex[:8]}"
    admin = {"postgresql": PG_ADMIN_URL, "mariadb": MARIADB_ADMIN_URL}.get(BACKEND, "")
    url = create_database(admin, name) if admin else f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = make_engine(url)
    upgrade(engine, CHAIN_MIGRATION.down_revision)
    engine.dispose()
    yield url
    if admin:
        drop_database(admin, name)


@pytest.fixture
def migrated(old_database: str, tmp_path: Path) -> Iterator[Services]:
    data_dir = tmp_path / "data"
    key = ensure_key_file(data_dir / "audit.key")
    engine = make_engine(old_database)
    with engine.begin() as connection:
        connection.execute(insert(AUDIT_TABLE), legacy_rows(key, LEGACY))
    upgrade(engine)
    engine.dispose()
    services = build_services(settings_for(data_dir, old_database), migrate=False)
    try:
        yield services
    finally:
        services.close()


def test_the_migration_starts_the_chain_at_the_newest_entry(migrated: Services) -> None:
    with migrated.sessions.begin() as session:
        head = session.get(AuditChainHead, 1)
        newest = session.scalar(select(AUDIT_TABLE.c.signature).where(AUDIT_TABLE.c.id == LEGACY))
    assert head is not None
    assert (head.genesis, head.seq, head.hash, head.signature) == (LEGACY, LEGACY, newest, "")
    before = verify(migrated)
    assert before.ok and before.legacy == LEGACY and before.genesis == LEGACY


def test_the_chain_continues_after_the_old_entries(migrated: Services) -> None:
    assert write(migrated, 2) == [LEGACY + 1, LEGACY + 2]
    report = verify(migrated)
    assert report.ok, report.findings
    assert report.legacy == LEGACY and report.checked == LEGACY + 2


def test_deleting_the_newest_old_entry_breaks_the_first_link(migrated: Services) -> None:
    write(migrated, 2)
    delete_ids(migrated, LEGACY)
    report = verify(migrated)
    assert report.ids(Tamper.DELETED) == [LEGACY]
    assert report.unlinked == 1 and report.exit_code == 4


def test_an_edited_old_entry_fails_its_own_signature(migrated: Services) -> None:
    from sqlalchemy import update

    write(migrated, 1)
    with migrated.sessions.begin() as session:
        session.execute(update(AUDIT_TABLE).where(AUDIT_TABLE.c.id == 2).values(info="edited"))
    report = verify(migrated)
    assert report.ids(Tamper.ALTERED) == [2] and report.exit_code == 3
