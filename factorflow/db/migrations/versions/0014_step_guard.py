"""the blast-radius guard for workflow steps

A paused run may hold a batch of workflow steps instead of a scheduled run
(``event_paused_run.step``: the 0-based step; NULL for a scheduled run), and a
workflow names the paused run that held its step (``event_workflow.held_by``).

Revision ID: 0014_step_guard
Revises: 0013_radiusserver
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_step_guard"
down_revision = "0013_radiusserver"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_paused_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step", sa.Integer(), nullable=True))
    with op.batch_alter_table("event_workflow", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_by", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_event_workflow_held_by"), ["held_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_workflow", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_workflow_held_by"))
        batch_op.drop_column("held_by")
    with op.batch_alter_table("event_paused_run", schema=None) as batch_op:
        batch_op.drop_column("step")
