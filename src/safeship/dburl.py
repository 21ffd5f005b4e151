"""``SAFESHIP_DB_URL`` checked before anything connects: one clear line, not a traceback.

Refused: a value that is not a URL, a dialect other than SQLite or PostgreSQL, a driver
that is not installed, and a SQLite path that cannot be created or written. Cheap (no
SQLAlchemy import), so the CLI's start-up stays fast.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from safeship.errors import ConfigError

_DRIVERS = {  # dialect -> {driver name in the URL: module that must be importable}
    "sqlite": {"": "sqlite3", "pysqlite": "sqlite3"},
    "postgresql": {"": "psycopg", "psycopg": "psycopg", "psycopg2": "psycopg2"},
}
_EXAMPLES = "sqlite:////abs/path/registry.db or postgresql://user@host:5432/dbname"


def check_db_url(url: str) -> None:
    """Raise :class:`ConfigError` naming the problem if ``url`` cannot be a registry."""
    shown = _redacted(url)
    scheme, separator, rest = url.partition("://")
    if not separator or not scheme:
        raise ConfigError(f"SAFESHIP_DB_URL={shown} is not a database URL: use {_EXAMPLES}")
    dialect, _, driver = scheme.lower().partition("+")
    if dialect == "postgres":
        dialect = "postgresql"
    if dialect not in _DRIVERS:
        raise ConfigError(
            f"SAFESHIP_DB_URL={shown}: unknown database dialect {dialect!r}; "
            f"safeship supports sqlite and postgresql ({_EXAMPLES})"
        )
    module = _DRIVERS[dialect].get(driver)
    if module is None:
        known = ", ".join(f"{dialect}+{d}" for d in _DRIVERS[dialect] if d)
        raise ConfigError(
            f"SAFESHIP_DB_URL={shown}: unknown driver {driver!r} for {dialect}; use {known}"
        )
    if importlib.util.find_spec(module) is None:
        raise ConfigError(
            f"SAFESHIP_DB_URL={shown}: the driver module {module!r} is not installed; "
            f"install it (pip install {module}) or use {dialect}://..."
        )
    if dialect == "sqlite":
        _check_sqlite_path(rest, shown)
    elif not rest.split("/", 1)[0]:
        raise ConfigError(f"SAFESHIP_DB_URL={shown} names no host: use {_EXAMPLES}")


def _check_sqlite_path(rest: str, shown: str) -> None:
    path_text = rest[1:] if rest.startswith("/") else rest
    path_text = path_text.split("?", 1)[0]
    if not path_text or path_text == ":memory:":
        raise ConfigError(
            f"SAFESHIP_DB_URL={shown} names no file: a registry must persist; use {_EXAMPLES}"
        )
    path = Path(path_text)
    if path.is_dir():
        raise ConfigError(f"SAFESHIP_DB_URL={shown}: {path} is a directory, not a database file")
    existing = path if path.exists() else _nearest_existing(path.parent)
    if existing is not path and not existing.is_dir():
        raise ConfigError(
            f"SAFESHIP_DB_URL={shown}: cannot create {path}: {existing} is a file, not a folder"
        )
    if not os.access(existing, os.W_OK):
        raise ConfigError(f"SAFESHIP_DB_URL={shown}: {existing} is not writable")


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _redacted(url: str) -> str:
    """The URL with any password replaced, quoted for a message."""
    scheme, separator, rest = url.partition("://")
    credentials, at, host = rest.partition("@")
    if separator and at and ":" in credentials:
        user = credentials.split(":", 1)[0]
        return repr(f"{scheme}://{user}:***@{host}")
    return repr(url)
