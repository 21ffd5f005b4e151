"""Settings are checked at the edge; only `safeship init` creates a registry."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.dburl import check_db_url
from safeship.errors import ConfigError, NotFoundError
from safeship.registry.store import Registry
from tests.helpers import run


def _cli(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run(project, *args, env=env)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nonsense", "not a database URL"),
        ("mysql://root@localhost/x", "unknown database dialect 'mysql'"),
        ("postgresql+asyncpg://u@h/db", "unknown driver 'asyncpg'"),
        ("sqlite:///", "names no file"),
        ("sqlite:////etc/passwd/registry.db", "is a file, not a folder"),
    ],
)
def test_bad_db_url_is_one_clear_line(url: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        check_db_url(url)
    assert "\n" not in str(caught.value)


def test_missing_driver_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "psycopg2" else real(name)
    )
    with pytest.raises(ConfigError, match="'psycopg2' is not installed"):
        check_db_url("postgresql+psycopg2://u@h/db")


def test_password_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        check_db_url("mysql://user:hunter2@h/db")
    assert "hunter2" not in str(caught.value)


def test_good_urls_pass(tmp_path: Path) -> None:
    check_db_url(f"sqlite:///{tmp_path / 'new' / 'registry.db'}")
    check_db_url("postgresql://postgres@127.0.0.1:5432/test")
    check_db_url("postgresql:///db")  # libpq: the local socket


def test_cli_refuses_garbage_url_in_one_line(project: Path) -> None:
    result = _cli(project, "models", SAFESHIP_DB_URL="mysql://root@localhost/x")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_missing_registry_file_is_refused_not_recreated(project: Path) -> None:
    assert _cli(project, "init").returncode == 0
    registry_file = project / ".safeship" / "registry.db"
    registry_file.unlink()
    result = _cli(project, "models")
    assert result.returncode == 3
    assert "safeship init" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not registry_file.exists()


def test_mistyped_home_is_refused_and_not_created(project: Path, tmp_path: Path) -> None:
    assert _cli(project, "init").returncode == 0
    wrong = tmp_path / "safeship-hmoe"
    result = _cli(project, "models", SAFESHIP_HOME=str(wrong))
    assert result.returncode == 3, result.stderr
    assert "SAFESHIP_HOME" in result.stderr and "safeship init" in result.stderr
    assert not wrong.exists()


def test_empty_postgres_database_is_refused(pg_url: str, project: Path) -> None:
    settings = Settings(project, project / ".safeship", pg_url)
    (project / ".safeship").mkdir()
    with pytest.raises(NotFoundError, match="holds no safeship registry"):
        Registry.open(settings, create=False)
    with Registry.open(settings) as created:  # what `safeship init` does
        assert created.models() == []
    with Registry.open(settings, create=False) as opened:
        assert opened.models() == []
