"""caconnector

CA connectors (privacyIDEA's ``caconnector``: the local CA's certificate, its sealed
private key, options and last CRL) and the certificates each issued.

Revision ID: 0015_caconnector
Revises: 0014_step_guard
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from factorflow.db.base import UtcDateTime

revision = "0015_caconnector"
down_revision = "0014_step_guard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "caconnector",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("catype", sa.String(length=30), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("cacert", sa.Text(), nullable=False),
        sa.Column("cakey_enc", sa.Text(), nullable=False),
        sa.Column("crl", sa.Text(), nullable=False),
        sa.Column("crl_number", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caconnector")),
        sa.UniqueConstraint("name", name=op.f("uq_caconnector_name")),
    )
    op.create_table(
        "caconnector_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("not_after", UtcDateTime(), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"], ["caconnector.id"],
            name=op.f("fk_caconnector_certificate_connector_id_caconnector"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caconnector_certificate")),
        sa.UniqueConstraint(
            "connector_id", "serial", name=op.f("uq_caconnector_certificate_connector_id")
        ),
    )  # fmt: skip
    op.create_index(
        op.f("ix_caconnector_certificate_connector_id"), "caconnector_certificate",
        ["connector_id"],
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index(
        op.f("ix_caconnector_certificate_connector_id"), table_name="caconnector_certificate"
    )
    op.drop_table("caconnector_certificate")
    op.drop_table("caconnector")
