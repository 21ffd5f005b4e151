"""Fixtures for team mode: databases of their own on the machine's PostgreSQL, HAProxy."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest


@pytest.fixture
def haproxy() -> str:
    """The haproxy executable; the test skips (or fails under CI) saying how to get it."""
    from safeship.errors import ConfigError
    from safeship.gateway.balancer import find_haproxy

    try:
        return find_haproxy()
    except ConfigError as error:
        message = f"{error} (`make team-deps` installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def make_database(pg_base_url: str) -> Iterator[Callable[[str], str]]:
    """``make_database(prefix)``: a new PostgreSQL database (its URL), dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    created: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg_base_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return make_url(pg_base_url).set(database=name).render_as_string(hide_password=False)

    yield make
    with psycopg.connect(pg_base_url, autocommit=True) as connection:
        for name in created:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
