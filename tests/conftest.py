"""Shared fixtures: an isolated project directory and a registry on SQLite or PostgreSQL.

PostgreSQL tests use the server at ``SAFESHIP_TEST_PG_URL`` (default
postgresql://postgres@127.0.0.1:5432/test), each in a schema of its own. When the
environment variable ``CI`` is set they fail, not skip, if the server cannot be reached.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("SAFESHIP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")

for _key, _value in {
    "DO_NOT_TRACK": "1",
    "DVC_NO_ANALYTICS": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}.items():
    os.environ.setdefault(_key, _value)


def _pg_available() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure means unavailable
        return str(error).strip().splitlines()[0]
    return None


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    problem = _pg_available()
    if problem is not None:
        message = f"PostgreSQL at {PG_URL} is unreachable: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: PostgreSQL tests must run)")
        pytest.skip(message)
    return PG_URL


@pytest.fixture
def pg_url(pg_base_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_base_url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{pg_base_url}?options=-csearch_path%3D{schema}"
    with psycopg.connect(pg_base_url, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'registry.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git project as the working directory, with its own state folder."""
    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "config", "user.email", "t@example.com"], cwd=root, check=True)
    subprocess.run(["git", "config", "user.name", "t"], cwd=root, check=True)
    monkeypatch.chdir(root)
    monkeypatch.delenv("SAFESHIP_HOME", raising=False)
    monkeypatch.delenv("SAFESHIP_DB_URL", raising=False)
    return root


_PREFECT_GROUP = ("tests/flows/", "tests/team/test_team_worker_release.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``pytest -n N --dist loadgroup`` (``make test``), a test file runs whole on one
    worker (its module fixtures are built once), and every test that needs the session's
    Prefect server and built demo shares one worker, so neither is built twice."""
    root = Path(__file__).resolve().parent.parent
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(root).as_posix()
        group = "prefect" if rel.startswith(_PREFECT_GROUP) else rel
        item.add_marker(pytest.mark.xdist_group(group))
