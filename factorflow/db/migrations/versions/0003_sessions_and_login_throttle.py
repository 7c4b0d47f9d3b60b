"""sessions bound to a credential version, revoked sessions, login throttling

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

import factorflow.db.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revoked_session",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("expires_at", factorflow.db.base.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_revoked_session")),
    )
    with op.batch_alter_table("revoked_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revoked_session_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=450), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", factorflow.db.base.UtcDateTime(), nullable=False),
        sa.Column("last_failure", factorflow.db.base.UtcDateTime(), nullable=False),
        sa.Column("blocked_until", factorflow.db.base.UtcDateTime(), nullable=True),
        sa.Column("lockout", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle")),
        sa.UniqueConstraint("scope", "subject", name="uq_login_throttle_scope_subject"),
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index("ix_login_throttle_blocked_until", ["blocked_until"], unique=False)
        batch_op.create_index("ix_login_throttle_last_failure", ["last_failure"], unique=False)

    # Every existing admin gets a credential version. JWTs issued before the upgrade
    # carry none and are refused: their admins log in again once.
    with op.batch_alter_table("admin", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("credential_version", sa.String(length=32), server_default="", nullable=False)
        )
    admin = sa.table("admin", sa.column("id", sa.Integer), sa.column("credential_version"))
    connection = op.get_bind()
    for (admin_id,) in connection.execute(sa.select(admin.c.id)).all():
        connection.execute(
            admin.update()
            .where(admin.c.id == admin_id)
            .values(credential_version=secrets.token_hex(16))
        )


def downgrade() -> None:
    with op.batch_alter_table("admin", schema=None) as batch_op:
        batch_op.drop_column("credential_version")
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_index("ix_login_throttle_last_failure")
        batch_op.drop_index("ix_login_throttle_blocked_until")
    op.drop_table("login_throttle")
    with op.batch_alter_table("revoked_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_session_expires_at"))
    op.drop_table("revoked_session")
