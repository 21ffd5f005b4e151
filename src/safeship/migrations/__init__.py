"""Alembic migrations of the registry schema (applied by ``safeship.registry.db``)."""
