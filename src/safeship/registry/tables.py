"""SQLAlchemy Core tables of the registry and the ledger (the schema Alembic migrates)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("risk_tier", String(16), nullable=False),
    Column("owner", String(200), nullable=True),
    Column("created_at", String(40), nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version", String(100), nullable=False),
    Column("dir_hash", String(80), nullable=False),
    Column("manifest", Text, nullable=False),
    Column("lineage", Text, nullable=False),
    Column("parent_version", String(100), nullable=True),
    Column("adapter", String(60), nullable=True),
    Column("author", String(200), nullable=True),
    Column("notes", Text, nullable=True),
    Column("created_at", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    UniqueConstraint("model_id", "version", name="uq_model_version"),
)

deployments = Table(
    "deployments",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id"), primary_key=True),
    Column("production_version", String(100), nullable=True),
    Column("canary_version", String(100), nullable=True),
    Column("canary_weight", Integer, nullable=False, default=0),
    Column("shadow_version", String(100), nullable=True),
    Column("updated_at", String(40), nullable=False),
)

# One row per change of a model's deployment pointers, indexed by (model, time), so that
# "what served at time T" is an index lookup rather than a scan of the ledger.
deployment_history = Table(
    "deployment_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_name", String(200), nullable=False),
    Column("at", String(40), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("production_version", String(100), nullable=True),
    Column("canary_version", String(100), nullable=True),
    Column("canary_weight", Integer, nullable=False),
    Column("shadow_version", String(100), nullable=True),
    Index("ix_deployment_history_model_at", "model_name", "at", "seq"),
)

ledger_events = Table(
    "ledger_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("kind", String(80), nullable=False),
    Column("model", String(200), nullable=True),
    Column("version", String(100), nullable=True),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("actor_key", String(80), nullable=True),  # issue 14: fingerprint of the signer
    Column("signature", Text, nullable=True),  # issue 14: the actor's signed statement
    Index("ix_ledger_model_seq", "model", "seq"),
)

# Safety profiles: per version, seq 0 is the locked baseline; later scans append
# amendments. Rows are never updated or deleted (database triggers refuse it).
safety_profiles = Table(
    "safety_profiles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_name", String(200), nullable=False),
    Column("version", String(100), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("reason", Text, nullable=True),
    Column("probe_set_version", String(100), nullable=True),
    Column("probe_set_hash", String(80), nullable=True),
    Column("profile", Text, nullable=False),
    Column("profile_hash", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    UniqueConstraint("model_name", "version", "seq", name="uq_profile_seq"),
)

# Incidents (migration 0003): opened from the ledger's rollbacks, failed drills and monitor
# alerts (``safeship.incidents``); notes are appended, resolution sets status and fixed_in.
incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_name", String(200), nullable=True),
    Column("trigger", String(40), nullable=False),
    Column("trigger_seq", BigInteger, nullable=True, unique=True),
    Column("title", Text, nullable=False),
    Column("versions", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("requests_affected", Integer, nullable=True),
    Column("opened_at", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("resolved_at", String(40), nullable=True),
    Column("fixed_in", String(100), nullable=True),
    Index("ix_incidents_model_status", "model_name", "status"),
)

incident_notes = Table(
    "incident_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("at", String(40), nullable=False),
    Column("author", String(200), nullable=False),
    Column("text", Text, nullable=False),
)

# Migration 0003: versions by model and status (the dashboard's overview counts them).
Index("ix_model_versions_model_status", model_versions.c.model_id, model_versions.c.status,
      model_versions.c.version)  # fmt: skip

incident_sync = Table(
    "incident_sync",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)
