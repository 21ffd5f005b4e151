"""Trust (issue 14): ledger events carry the verified actor's key and signature.

Both columns are NULL for events written before this revision ("unsigned (legacy)"): their
hashes are unchanged, because the hashed document only includes the two fields when set.

Revision ID: 0003_trust
Revises: 0002_safety_profiles
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_trust"
down_revision = "0002_safety_profiles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_events") as batch:
        batch.add_column(sa.Column("actor_key", sa.String(80), nullable=True))
        batch.add_column(sa.Column("signature", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_events") as batch:
        batch.drop_column("signature")
        batch.drop_column("actor_key")
