"""Gateway API keys: stored as SHA-256 hashes, with scopes and an optional version pin.

Revision ID: 0005_api_keys
Revises: 0004_incidents
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_api_keys"
down_revision = "0004_incidents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("scopes", sa.String(40), nullable=False),
        sa.Column("pin_model", sa.String(200), nullable=True),
        sa.Column("pin_version", sa.String(100), nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
