"""chained actions

Whether a definition's action runs the definitions of the request it performs
(``event_definition.chain_events``; NULL for the rows before it: no).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_definition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_events", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event_definition", schema=None) as batch_op:
        batch_op.drop_column("chain_events")
