"""Safety profiles: a locked baseline per version and appended amendments.

Revision ID: 0002_safety_profiles
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_safety_profiles"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "safety_profiles",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("probe_set_version", sa.String(100), nullable=True),
        sa.Column("probe_set_hash", sa.String(80), nullable=True),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("profile_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("model_name", "version", "seq", name="uq_profile_seq"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER safety_profiles_no_{action.lower()} BEFORE {action} ON "
                "safety_profiles BEGIN SELECT RAISE(ABORT, 'safety profiles are append-only: "
                "add an amendment instead'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION safeship_profiles_guard() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'safety profiles are append-only: add an amendment instead'; "
            "END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER safety_profiles_guard BEFORE UPDATE OR DELETE ON safety_profiles "
            "FOR EACH ROW EXECUTE FUNCTION safeship_profiles_guard()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS safety_profiles_guard ON safety_profiles")
        op.execute("DROP FUNCTION IF EXISTS safeship_profiles_guard()")
    op.drop_table("safety_profiles")
