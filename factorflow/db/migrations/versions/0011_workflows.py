"""workflows and the blast-radius guard

Follow-up steps of a definition (``event_definition.steps``) and the workflow
instances that wait for them (``event_workflow``); the guard's limits
(``event_definition.max_subjects`` / ``max_share``) and the runs it paused
(``event_paused_run``).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from factorflow.db.base import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_definition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("steps", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("max_subjects", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_share", sa.Integer(), nullable=True))
    op.create_table(
        "event_workflow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("serial", sa.String(length=255), nullable=False),
        sa.Column("realm", sa.String(length=255), nullable=False),
        sa.Column("resolver", sa.String(length=255), nullable=False),
        sa.Column("user_uid", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=True),
        sa.Column("running_key", sa.String(length=300), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_workflow")),
        sa.UniqueConstraint("running_key", name=op.f("uq_event_workflow_running_key")),
    )
    with op.batch_alter_table("event_workflow", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_workflow_definition_id"), ["definition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_event_workflow_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_workflow_due_at"), ["due_at"], unique=False)

    op.create_table(
        "event_paused_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("swept", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_paused_run")),
    )
    with op.batch_alter_table("event_paused_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_paused_run_definition_id"), ["definition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_event_paused_run_state"), ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("event_paused_run")
    op.drop_table("event_workflow")
    with op.batch_alter_table("event_definition", schema=None) as batch_op:
        batch_op.drop_column("max_share")
        batch_op.drop_column("max_subjects")
        batch_op.drop_column("steps")
