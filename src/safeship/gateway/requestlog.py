"""The request log: every request and response, written in batches, queryable by window.

Where it lives:

* SQLite (the embedded default): a file of its own, ``.safeship/requests.db``, in WAL
  mode. Not the registry's file: the registry serialises its writers (``BEGIN
  IMMEDIATE``) to keep the ledger's chain single-writer, and a request log writing
  hundreds of rows a second there would queue behind — and delay — a rollback.
* PostgreSQL (when ``SAFESHIP_DB_URL`` is PostgreSQL): a ``gateway_requests`` table in
  that database, created on first use, so every replica writes to one place that canary
  analysis and drift reports read.

Next to it, each committed batch also adds its counts to the per-minute health roll-up
(``gateway.rollup``, same transaction) that the dashboard reads.

Requests never wait for the database: :meth:`RequestLog.submit` puts the record on a
bounded in-memory queue and returns; a writer thread commits every ``batch_size``
records or every ``flush_ms``, whichever comes first, in one transaction. A full queue
drops the record and counts it (``safeship_gateway_request_log_dropped``) rather than
slow serving down. Each row is made storable (NUL and lone surrogates replaced); a
database outage is retried with backoff for ``retry_s``; what is still lost is counted and
shown on ``/healthz``. :meth:`RequestLog.close` flushes what is queued.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeship.gateway import rollup
from safeship.gateway.intake import storable

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine, MetaData, Table

    from safeship.config import Settings
    from safeship.gateway.metrics import GatewayMetrics
    from safeship.params import ServingParams

log = logging.getLogger("safeship.gateway")
TABLE = "gateway_requests"
COLUMNS = (
    "request_id", "time", "model", "version", "role", "endpoint", "user_hash", "prompt",
    "output", "latency_ms", "status", "error", "error_type", "prompt_tokens",
    "completion_tokens", "stream", "replica",
)  # fmt: skip


@dataclass
class RequestRecord:
    """One request/response; ``ts`` is seconds since the epoch (UTC)."""

    request_id: str
    ts: float
    model: str
    version: str | None
    role: str | None
    endpoint: str
    user_hash: str | None
    prompt: str | None
    output: str | None
    latency_ms: float
    status: int
    error: str | None = None
    error_type: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    stream: bool = False
    replica: str | None = None


def hash_user(user: str | None) -> str | None:
    """Callers are stored hashed (sha256, first 32 hex digits), never as given."""
    if user is None:
        return None
    text = f"safeship-user\n{user}".encode("utf-8", "surrogatepass")  # a lone surrogate too
    return hashlib.sha256(text).hexdigest()[:32]


def default_url(settings: Settings) -> str:
    """PostgreSQL registry → the same database; SQLite → ``<state>/requests.db``."""
    if settings.db_url.startswith(("postgresql", "postgres")):
        return settings.db_url
    return f"sqlite:///{settings.state_dir / 'requests.db'}"


def _table(metadata: MetaData) -> Table:
    from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table, Text

    return Table(
        TABLE,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("request_id", String(64), nullable=False),
        Column("ts", Float, nullable=False),
        Column("model", String(200), nullable=False),
        Column("version", String(100)),
        Column("role", String(16)),
        Column("endpoint", String(64), nullable=False),
        Column("user_hash", String(64)),
        Column("prompt", Text),
        Column("output", Text),
        Column("latency_ms", Float, nullable=False),
        Column("status", Integer, nullable=False),
        Column("error", Text),
        Column("error_type", String(64)),
        Column("prompt_tokens", Integer),
        Column("completion_tokens", Integer),
        Column("stream", Boolean, nullable=False, default=False),
        Column("replica", String(200)),
        Index("ix_gateway_requests_model_role_ts", "model", "role", "ts"),
        Index("ix_gateway_requests_model_version_ts", "model", "version", "ts"),
        Index("ix_gateway_requests_request_id", "request_id"),
    )


_TEXT_FIELDS = ("request_id", "model", "version", "role", "endpoint", "prompt", "output",
                "error", "error_type", "replica")  # fmt: skip
_WIDTHS = {"request_id": 64, "model": 200, "version": 100, "role": 16, "endpoint": 64,
           "error_type": 64, "replica": 200}  # fmt: skip


def _is_outage(error: Exception) -> bool:
    """A failure of the database rather than of the rows: worth retrying."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(error, OperationalError | InterfaceError)


def _engine(url: str) -> Engine:
    from sqlalchemy import create_engine, event

    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def _epoch(moment: datetime | float | None) -> float | None:
    if moment is None or isinstance(moment, float | int):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class RequestLog:
    """Batched writer and reader of the request log (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        batch_size: int = 200,
        flush_ms: int = 200,
        queue_size: int = 20_000,
        max_text_chars: int = 8000,
        metrics: GatewayMetrics | None = None,
        retry_s: float = 30.0,
    ) -> None:
        from sqlalchemy import MetaData

        self.url = url
        self.engine = _engine(url)
        self.metadata = MetaData()
        self.table = _table(self.metadata)
        self.minutes = rollup.define(self.metadata)
        try:
            self.table.create(self.engine, checkfirst=True)
        except Exception:  # noqa: BLE001 - another worker created it at the same moment
            time.sleep(0.2)
            self.table.create(self.engine, checkfirst=True)
        rollup.ensure(self.engine, self.minutes, self.table)
        self.batch_size = batch_size
        self.flush_s = flush_ms / 1000
        self.max_text_chars = max_text_chars
        self.metrics = metrics
        self._queue: queue.Queue[RequestRecord | None] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._count_lock = threading.Lock()
        self.accepted = 0  # queued
        self.written = 0  # committed
        self.failed = 0  # queued, then lost to a failed write
        self.dropped = 0  # never queued (queue full) or lost to a failed write
        self.retries = 0  # writes tried again after a database outage
        self.retry_s = retry_s
        self._failing_since: float | None = None

    @classmethod
    def open(
        cls,
        settings: Settings,
        params: ServingParams,
        metrics: GatewayMetrics | None = None,
        url: str | None = None,
    ) -> RequestLog:
        p = params.request_log
        return cls(
            url or default_url(settings),
            batch_size=p.batch_size,
            flush_ms=p.flush_ms,
            queue_size=p.queue_size,
            max_text_chars=p.max_text_chars,
            metrics=metrics,
        )

    # ------------------------------------------------------------------ writing
    def start(self) -> RequestLog:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="safeship-requestlog", daemon=True
            )
            self._thread.start()
        return self

    def submit(self, record: RequestRecord) -> bool:
        """Queue one record (never blocks); False when it was dropped."""
        if self._closed:
            return False
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._dropped(1)
            return False
        with self._count_lock:
            self.accepted += 1
        return True

    def _dropped(self, count: int) -> None:
        self.dropped += count
        if self.metrics is not None:
            self.metrics.log_dropped.inc(count)

    def _run(self) -> None:
        batch: list[RequestRecord] = []
        deadline: float | None = None  # the oldest waiting record is written by then
        stopping = False
        while not stopping:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
                stopping = item is None
            except queue.Empty:  # the deadline passed with nothing new
                item = None
            if item is not None:
                if not batch:
                    deadline = time.monotonic() + self.flush_s
                batch.append(item)
            due = deadline is not None and time.monotonic() >= deadline
            if batch and (stopping or due or len(batch) >= self.batch_size):
                self.write(batch)
                batch, deadline = [], None

    def _row(self, record: RequestRecord) -> dict[str, Any]:
        row = dict(vars(record))  # shallow: every field is a scalar (asdict is 5x slower)
        for key in ("prompt", "output", "error"):
            value = row[key]
            if isinstance(value, str) and len(value) > self.max_text_chars:
                row[key] = value[: self.max_text_chars]
        for key in _TEXT_FIELDS:
            row[key] = storable(row[key])
        for key, width in _WIDTHS.items():
            if isinstance(row[key], str) and len(row[key]) > width:
                row[key] = row[key][:width]
        return row

    def write(self, records: list[RequestRecord]) -> None:
        """Commit ``records`` in one transaction (the writer thread calls this).

        A database outage is retried with backoff for up to ``retry_s``; a batch the
        database refuses for its content is written row by row, so one bad row never costs
        the others. Whatever is still lost is counted as dropped.
        """
        from sqlalchemy.exc import DBAPIError

        started = time.perf_counter()
        rows = [self._row(r) for r in records]
        give_up = time.monotonic() + self.retry_s
        delay = 0.05
        while True:
            try:
                self._insert(rows)
                break
            except DBAPIError as error:
                if not error.connection_invalidated and not _is_outage(error):
                    self._write_rows_one_by_one(rows)
                    return
                self._failing_since = self._failing_since or time.time()
                if time.monotonic() + delay > give_up or self._closed:
                    return self._lost(len(rows), error)
                self.retries += 1
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
            except Exception as error:  # noqa: BLE001 - the log must not take serving down
                return self._lost(len(rows), error)
        self._committed(len(rows), started)

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as connection:
            connection.execute(self.table.insert(), rows)
            rollup.add(connection, self.minutes, rows)  # the dashboard's per-minute health

    def _write_rows_one_by_one(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            started = time.perf_counter()
            try:
                self._insert([row])
            except Exception as error:  # noqa: BLE001 - count it, keep the others
                self._lost(1, error)
            else:
                self._committed(1, started)

    def _committed(self, count: int, started: float) -> None:
        self._failing_since = None
        self.written += count
        if self.metrics is not None:
            self.metrics.log_written.inc(count)
            self.metrics.log_flush.observe(time.perf_counter() - started)

    def _lost(self, count: int, error: Exception) -> None:
        log.error("request log: could not write %d records: %s", count, type(error).__name__)
        self.failed += count
        self._dropped(count)

    @property
    def failing(self) -> bool:
        """True while writes fail (a database outage being retried)."""
        return self._failing_since is not None

    def health(self) -> dict[str, Any]:
        """Counts for ``/healthz`` (no URLs, no hosts)."""
        return {
            "accepted": self.accepted,
            "written": self.written,
            "dropped": self.dropped,
            "failed": self.failed,
            "retries": self.retries,
            "failing": self.failing,
        }

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every record accepted so far is committed (or failed); True if so."""
        target = self.accepted
        end = time.monotonic() + timeout_s
        while self.written + self.failed < target:
            if time.monotonic() > end:
                return False
            time.sleep(0.005)
        return True

    def close(self) -> None:
        """Write what is queued, stop the writer, release the engine."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
        self.engine.dispose()

    # ------------------------------------------------------------------ reading
    def query(
        self,
        model: str,
        role: str | None = None,
        since: datetime | float | None = None,
        until: datetime | float | None = None,
        version: str | None = None,
    ) -> pd.DataFrame:
        """Records of ``model`` (optionally one role, version and ``[since, until)``).

        Columns: ``request_id, time`` (UTC), ``model, version, role, endpoint, user_hash,
        prompt, output, latency_ms, status, error, error_type, prompt_tokens,
        completion_tokens, stream, replica``; ordered by time.
        """
        import pandas as pd
        from sqlalchemy import select

        t = self.table
        statement = select(t).where(t.c.model == model)
        if role is not None:
            statement = statement.where(t.c.role == role)
        if version is not None:
            statement = statement.where(t.c.version == version)
        start, end = _epoch(since), _epoch(until)
        if start is not None:
            statement = statement.where(t.c.ts >= start)
        if end is not None:
            statement = statement.where(t.c.ts < end)
        statement = statement.order_by(t.c.ts, t.c.id)
        with self.engine.connect() as connection:
            rows = connection.execute(statement).mappings().all()
        frame = pd.DataFrame(
            [dict(r) for r in rows], columns=["id", "ts", *COLUMNS[2:], "request_id"]
        )
        frame["time"] = pd.to_datetime(frame["ts"], unit="s", utc=True)
        return frame[list(COLUMNS)].reset_index(drop=True)
