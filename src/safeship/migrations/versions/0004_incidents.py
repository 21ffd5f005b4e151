"""Incidents: what fired (a rollback, a failed drill, a monitor alert), notes, resolution;
and an index of versions by (model, status) for the dashboard's overview.

Revision ID: 0004_incidents
Revises: 0003_trust
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_incidents"
down_revision = "0003_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(200), nullable=True),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("trigger_seq", sa.BigInteger, nullable=True, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("versions", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("requests_affected", sa.Integer, nullable=True),
        sa.Column("opened_at", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resolved_at", sa.String(40), nullable=True),
        sa.Column("fixed_in", sa.String(100), nullable=True),
        sa.Index("ix_incidents_model_status", "model_name", "status"),
    )
    op.create_table(
        "incident_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    # the dashboard's overview counts versions per model and status every render
    op.create_index(
        "ix_model_versions_model_status", "model_versions", ["model_id", "status", "version"]
    )
    op.create_table(
        "incident_sync",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("incident_sync")
    op.drop_index("ix_model_versions_model_status", table_name="model_versions")
    op.drop_table("incident_notes")
    op.drop_table("incidents")
