"""webauthn and passkey tokens

``fido_credential``: the SHA-256 of each WebAuthn/passkey credential id with its
token (usernameless passkey login finds the token by it); ``fido_challenge``: the
challenges ``/validate/initialize`` makes before a token is known.

Revision ID: 0017_webauthn
Revises: 0016_nodes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import factorflow.db.base

revision = "0017_webauthn"
down_revision = "0016_nodes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fido_credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_hash", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"], ["token.id"], name=op.f("fk_fido_credential_token_id_token"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fido_credential")),
        sa.UniqueConstraint("credential_hash", name=op.f("uq_fido_credential_credential_hash")),
        sa.UniqueConstraint("token_id", name=op.f("uq_fido_credential_token_id")),
    )  # fmt: skip
    op.create_table(
        "fido_challenge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("challenge", sa.String(length=128), nullable=False),
        sa.Column("expiration", factorflow.db.base.UtcDateTime(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.Column("created_at", factorflow.db.base.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fido_challenge")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_fido_challenge_transaction_id")),
    )  # fmt: skip
    op.create_index(op.f("ix_fido_challenge_expiration"), "fido_challenge", ["expiration"])


def downgrade() -> None:
    op.drop_index(op.f("ix_fido_challenge_expiration"), table_name="fido_challenge")
    op.drop_table("fido_challenge")
    op.drop_table("fido_credential")
