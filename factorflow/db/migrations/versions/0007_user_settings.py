"""user settings

The web UI settings of each realm user and local admin (privacyIDEA 3.14's
``/user/settings``): one JSON object per principal.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("realm", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=320), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_settings")),
        sa.UniqueConstraint(
            "subject_type", "realm", "name", name=op.f("uq_user_settings_subject_type")
        ),
    )


def downgrade() -> None:
    op.drop_table("user_settings")
