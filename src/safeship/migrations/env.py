"""Alembic environment: always run with a connection supplied by safeship.registry.db."""

from __future__ import annotations

from alembic import context

from safeship.registry.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
