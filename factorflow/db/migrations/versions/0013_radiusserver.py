"""RADIUS server configurations

The ``/radiusserver/`` definitions that ``radius`` tokens forward to
(``radius_server``; the shared secret sealed).

Revision ID: 0013_radiusserver
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import factorflow.db.base

revision = "0013_radiusserver"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "radius_server",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=120), nullable=False),
        sa.Column("server", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("dictionary", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("created_at", factorflow.db.base.UtcDateTime(), nullable=False),
        sa.Column("updated_at", factorflow.db.base.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_radius_server")),
        sa.UniqueConstraint("identifier", name=op.f("uq_radius_server_identifier")),
    )


def downgrade() -> None:
    op.drop_table("radius_server")
