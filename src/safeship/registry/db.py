"""Database engines for the registry: SQLite (WAL) by default, PostgreSQL for teams.

Write transactions are serialised so the ledger's hash chain has one writer at a time:
``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL.
Migrations are applied automatically the first time a process opens a database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from safeship.errors import (
    DatabaseUnavailableError,
    InputError,
    NotFoundError,
    RegistryBusyError,
)

HEAD_REVISION = "0005_api_keys"
_WRITE_OPTION = "safeship_write"
_LEDGER_LOCK_KEY = 7_301_955_114  # pg_advisory_xact_lock key for registry writes
_upgraded: set[str] = set()
DEFAULT_LOCK_TIMEOUT_S = 30.0
STATEMENT_FACTOR = 4  # a statement may run this many lock timeouts before it is cancelled


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def lock_timeout_s() -> float:
    """How long a write waits for the registry's lock (``SAFESHIP_DB_LOCK_TIMEOUT_S``)."""
    raw = os.environ.get("SAFESHIP_DB_LOCK_TIMEOUT_S", str(DEFAULT_LOCK_TIMEOUT_S))
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise InputError(
            f"SAFESHIP_DB_LOCK_TIMEOUT_S={raw!r} is invalid: give seconds between 0 and 3600"
        )
    return value


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and explicit transactions;
    PostgreSQL gets a lock timeout and a statement timeout, so a stuck writer gives a
    clear :class:`RegistryBusyError` instead of a wait without end."""
    timeout = lock_timeout_s()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": timeout})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            write = connection.get_execution_options().get(_WRITE_OPTION, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})

    @event.listens_for(engine, "connect")
    def _on_pg_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET lock_timeout = {int(timeout * 1000)}")
        cursor.execute(f"SET statement_timeout = {int(timeout * STATEMENT_FACTOR * 1000)}")
        cursor.close()
        dbapi_connection.commit()  # session settings survive only a committed transaction

    return engine


_BUSY_SQLSTATES = {"55P03", "57014"}  # lock_not_available, query_canceled (a timeout)


def _is_busy(error: OperationalError) -> bool:
    if getattr(error.orig, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    return "database is locked" in str(error.orig) or "database is busy" in str(error.orig)


@contextmanager
def _busy_is_retryable() -> Iterator[None]:
    """Turn a lock or statement timeout into one clear, retryable error."""
    try:
        yield
    except OperationalError as error:
        if not _is_busy(error):
            raise
        raise RegistryBusyError(
            f"the registry database stayed busy for more than {lock_timeout_s():g} s "
            "(another writer held its lock); nothing was changed: retry the command, or "
            "raise SAFESHIP_DB_LOCK_TIMEOUT_S to wait longer"
        ) from error


def check_connection(engine: Engine) -> None:
    """Raise :class:`DatabaseUnavailableError` (one line) if the database cannot be reached."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseUnavailableError(
            f"cannot reach the registry database {_redact(str(engine.url))}: {reason}. "
            "Check SAFESHIP_DB_URL (or unset it to use the SQLite file under .safeship/)."
        ) from error


def current_revision(engine: Engine) -> str | None:
    from sqlalchemy import inspect

    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
        return None if row is None else str(row[0])


def upgrade(engine: Engine) -> str:
    """Apply every pending migration; return the revision the database is at."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent.parent / "migrations"))
    with engine.connect() as connection:
        connection = connection.execution_options(**{_WRITE_OPTION: True})
        if connection.dialect.name == "postgresql":
            with connection.begin():
                connection.execute(text(f"SELECT pg_advisory_xact_lock({_LEDGER_LOCK_KEY})"))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        else:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            if connection.in_transaction():
                connection.commit()
    _upgraded.add(str(engine.url))
    return HEAD_REVISION


def ensure_schema(engine: Engine, *, create: bool = True) -> None:
    """Check the database is reachable and at the head revision, migrating if not.

    With ``create=False`` a database holding no registry at all is refused, not filled.
    """
    if str(engine.url) in _upgraded:
        return
    check_connection(engine)
    revision = current_revision(engine)
    if revision is None and not create:
        raise NotFoundError(
            f"the database {_redact(str(engine.url))} holds no safeship registry: run "
            "`safeship init` to create one, or check SAFESHIP_DB_URL"
        )
    if revision != HEAD_REVISION:
        upgrade(engine)
    _upgraded.add(str(engine.url))


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the registry's write lock until commit."""
    with _busy_is_retryable(), engine.connect() as connection:
        connection = connection.execution_options(**{_WRITE_OPTION: True})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SELECT pg_advisory_xact_lock({_LEDGER_LOCK_KEY})"))
            yield connection


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    with _busy_is_retryable(), engine.connect() as connection, connection.begin():
        yield connection
