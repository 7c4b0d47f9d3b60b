"""audit hash chain: the signed head

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00

The chain starts here. Entries already in the table keep their own signatures; the
head is created at the newest of them (its *genesis*), so that the first chained
entry links to that entry's signature. The head is left unsigned (a migration has
no key): the first audit write signs it, and ``factorflow audit verify`` reports an
unsigned head once the chain has entries.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    head = op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("genesis", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=128), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    bind = op.get_bind()
    newest = bind.execute(
        sa.text("SELECT id, signature FROM audit ORDER BY id DESC LIMIT 1")
    ).one_or_none()
    genesis, link = (int(newest[0]), str(newest[1])) if newest is not None else (0, "")
    op.bulk_insert(
        head, [{"id": 1, "genesis": genesis, "seq": genesis, "hash": link, "signature": ""}]
    )


def downgrade() -> None:
    op.drop_table("audit_chain")
