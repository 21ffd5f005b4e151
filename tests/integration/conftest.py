"""Fixtures for integration tests: an initialised safeship project with a registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.project import init_project
from safeship.registry.store import Registry
from tests.helpers import init_cli_project


@pytest.fixture
def settings(project: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SAFESHIP_DB_URL", db_url)
    settings = Settings.from_env(project)
    init_project(settings)
    return settings


@pytest.fixture
def registry(settings: Settings) -> Iterator[Registry]:
    with Registry.open(settings) as opened:
        yield opened


@pytest.fixture
def cli_project(project: Path) -> Path:
    """CLI behaviour on the default SQLite registry (store tests cover both databases)."""
    return init_cli_project(project)


@pytest.fixture
def cli_project_any_db(project: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFESHIP_DB_URL", db_url)
    return init_cli_project(project)
