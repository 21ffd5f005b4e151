"""Initial registry schema: models, immutable versions, deployments, ledger.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_IMMUTABLE_COLUMNS = (
    "model_id",
    "version",
    "dir_hash",
    "manifest",
    "lineage",
    "parent_version",
    "adapter",
    "author",
    "notes",
    "created_at",
)


def upgrade() -> None:
    """The initial schema: declarative DDL, one ``create_table`` per table."""
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("risk_tier", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("dir_hash", sa.String(80), nullable=False),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.Column("lineage", sa.Text, nullable=False),
        sa.Column("parent_version", sa.String(100), nullable=True),
        sa.Column("adapter", sa.String(60), nullable=True),
        sa.Column("author", sa.String(200), nullable=True),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.UniqueConstraint("model_id", "version", name="uq_model_version"),
    )
    op.create_table(
        "deployments",
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), primary_key=True),
        sa.Column("production_version", sa.String(100), nullable=True),
        sa.Column("canary_version", sa.String(100), nullable=True),
        sa.Column("canary_weight", sa.Integer, nullable=False),
        sa.Column("shadow_version", sa.String(100), nullable=True),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "deployment_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("production_version", sa.String(100), nullable=True),
        sa.Column("canary_version", sa.String(100), nullable=True),
        sa.Column("canary_weight", sa.Integer, nullable=False),
        sa.Column("shadow_version", sa.String(100), nullable=True),
    )
    op.create_index(
        "ix_deployment_history_model_at", "deployment_history", ["model_name", "at", "seq"]
    )
    op.create_table(
        "ledger_events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("time", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(80), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("version", sa.String(100), nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_ledger_model_seq", "ledger_events", ["model", "seq"])
    _create_guards()


def _create_guards() -> None:
    """Immutability below the ORM: versions' content and ledger events cannot change."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _IMMUTABLE_COLUMNS)
        op.execute(
            "CREATE TRIGGER model_versions_immutable BEFORE UPDATE ON model_versions "
            f"WHEN {changed} BEGIN SELECT RAISE(ABORT, "
            "'model versions are immutable: only their status may change'); END"
        )
        op.execute(
            "CREATE TRIGGER model_versions_no_delete BEFORE DELETE ON model_versions "
            "BEGIN SELECT RAISE(ABORT, 'model versions cannot be deleted'); END"
        )
        op.execute(
            "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger_events "
            "BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger_events "
            "BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only'); END"
        )
    elif dialect == "postgresql":
        old = ", ".join(f"OLD.{c}" for c in _IMMUTABLE_COLUMNS)
        new = ", ".join(f"NEW.{c}" for c in _IMMUTABLE_COLUMNS)
        op.execute(
            "CREATE FUNCTION safeship_versions_guard() RETURNS trigger AS $$ BEGIN "
            "IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'model versions cannot be deleted'; END IF; "
            f"IF ROW({new}) IS DISTINCT FROM ROW({old}) THEN "
            "RAISE EXCEPTION 'model versions are immutable: only their status may change'; "
            "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER model_versions_guard BEFORE UPDATE OR DELETE ON model_versions "
            "FOR EACH ROW EXECUTE FUNCTION safeship_versions_guard()"
        )
        op.execute(
            "CREATE FUNCTION safeship_ledger_guard() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'the audit ledger is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER ledger_guard BEFORE UPDATE OR DELETE ON ledger_events "
            "FOR EACH ROW EXECUTE FUNCTION safeship_ledger_guard()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_guard ON ledger_events")
        op.execute("DROP TRIGGER IF EXISTS model_versions_guard ON model_versions")
        op.execute("DROP FUNCTION IF EXISTS safeship_ledger_guard()")
        op.execute("DROP FUNCTION IF EXISTS safeship_versions_guard()")
    for table in ("ledger_events", "deployment_history", "deployments", "model_versions", "models"):
        op.drop_table(table)
