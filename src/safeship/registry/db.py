"""Database engines for the registry: SQLite (WAL) by default, PostgreSQL for teams.

Write transactions are serialised so the ledger's hash chain has one writer at a time:
``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL.
Migrations are applied automatically the first time a process opens a database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from safeship.errors import DatabaseUnavailableError

HEAD_REVISION = "0003_api_keys"
_WRITE_OPTION = "safeship_write"
_LEDGER_LOCK_KEY = 7_301_955_114  # pg_advisory_xact_lock key for registry writes
_upgraded: set[str] = set()


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and explicit transactions."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            write = connection.get_execution_options().get(_WRITE_OPTION, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


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


def ensure_schema(engine: Engine) -> None:
    """Check the database is reachable and at the head revision, migrating if not."""
    if str(engine.url) in _upgraded:
        return
    check_connection(engine)
    if current_revision(engine) != HEAD_REVISION:
        upgrade(engine)
    _upgraded.add(str(engine.url))


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the registry's write lock until commit."""
    with engine.connect() as connection:
        connection = connection.execution_options(**{_WRITE_OPTION: True})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SELECT pg_advisory_xact_lock({_LEDGER_LOCK_KEY})"))
            yield connection


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection, connection.begin():
        yield connection
