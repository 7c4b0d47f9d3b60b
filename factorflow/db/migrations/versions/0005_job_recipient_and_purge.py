"""job recipient and payload purge

A job keeps whom it went to (masked) after its payload is purged, and when the
purge happened. Secrets stored in plaintext by older versions (event definition
options, SMS gateway headers) are sealed by ``bootstrap.seal_plaintext_secrets``
right after the schema migrations: that needs the encryption key, which a schema
migration does not have.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import factorflow.db.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recipient", sa.String(length=255), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("purged_at", factorflow.db.base.UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("purged_at")
        batch_op.drop_column("recipient")
