"""nodes

privacyIDEA's ``nodename`` table: each node's UUID, name and when it last started.

Revision ID: 0016_nodes
Revises: 0015_caconnector
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from factorflow.db.base import UtcDateTime

revision = "0016_nodes"
down_revision = "0015_caconnector"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodename",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("lastseen", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nodename")),
    )


def downgrade() -> None:
    op.drop_table("nodename")
