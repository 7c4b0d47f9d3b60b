"""machines

Machine resolvers, service ids, and the links of tokens to machines and applications
with their options (privacyIDEA's machineresolver, serviceid, machinetoken and
machinetokenoptions).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "machineresolver",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machineresolver")),
        sa.UniqueConstraint("name", name=op.f("uq_machineresolver_name")),
    )
    op.create_table(
        "serviceid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serviceid")),
        sa.UniqueConstraint("name", name=op.f("uq_serviceid_name")),
    )
    op.create_table(
        "machinetoken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("machineresolver_id", sa.Integer(), nullable=True),
        sa.Column("machine_id", sa.String(length=255), nullable=True),
        sa.Column("application", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"], ["token.id"], name=op.f("fk_machinetoken_token_id_token"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["machineresolver_id"], ["machineresolver.id"],
            name=op.f("fk_machinetoken_machineresolver_id_machineresolver"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machinetoken")),
    )  # fmt: skip
    op.create_index("ix_machinetoken_machine", "machinetoken", ["machineresolver_id", "machine_id"])
    op.create_index(op.f("ix_machinetoken_token_id"), "machinetoken", ["token_id"])
    op.create_index(op.f("ix_machinetoken_application"), "machinetoken", ["application"])
    op.create_table(
        "machinetokenoptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("machinetoken_id", sa.Integer(), nullable=False),
        sa.Column("mt_key", sa.String(length=64), nullable=False),
        sa.Column("mt_value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["machinetoken_id"], ["machinetoken.id"],
            name=op.f("fk_machinetokenoptions_machinetoken_id_machinetoken"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machinetokenoptions")),
        sa.UniqueConstraint(
            "machinetoken_id", "mt_key", name=op.f("uq_machinetokenoptions_machinetoken_id")
        ),
    )  # fmt: skip
    op.create_index(
        op.f("ix_machinetokenoptions_machinetoken_id"), "machinetokenoptions", ["machinetoken_id"]
    )


def downgrade() -> None:
    op.drop_table("machinetokenoptions")
    op.drop_table("machinetoken")
    op.drop_table("serviceid")
    op.drop_table("machineresolver")
