"""Per-minute health roll-up of the request log, kept by the request-log writer.

The dashboard's health over the last hour used to scan every request of the hour; on a
busy gateway that is hundreds of thousands of rows per page. Instead, each batch the
writer commits also adds, in the same transaction, its counts to one row per
``(model, version, minute)`` of ``gateway_request_minutes``: requests, errors (status ≥ 400
or an error), the sum of latencies and a latency histogram. Reading an hour is then a
grouped sum over at most 60 rows per (model, version), whatever the traffic.

The histogram has ``BUCKETS`` buckets: bucket 0 holds latencies below 1 ms, bucket ``i``
holds ``[RATIO**(i-1), RATIO**i)`` ms, the last one everything above. Counts add up across
batches and replicas (``INSERT … ON CONFLICT DO UPDATE``, on SQLite and PostgreSQL), so the
p95 read from it is an estimate within one bucket (±25%), interpolated inside the bucket.

The table sits next to ``gateway_requests`` (same database, made with it); when it is
created next to an existing request log, the last ``BACKFILL_S`` seconds of requests are
rolled up once, under a lock, so an upgrade does not show an empty hour.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, MetaData, Table

TABLE = "gateway_request_minutes"
RATIO = 1.25
BUCKETS = 50  # up to 1.25**48 ms ≈ 44 s; the last bucket is open
BACKFILL_S = 24 * 3600
_LOG_RATIO = math.log(RATIO)
_BUCKET_COLUMNS = tuple(f"lat_{i:02d}" for i in range(BUCKETS))
_COUNTERS = ("requests", "errors", "latency_ms_sum", *_BUCKET_COLUMNS)
_ROLLUP_LOCK_KEY = 7_301_955_115  # pg_advisory_xact_lock key for creating the roll-up


def bucket_of(latency_ms: float) -> int:
    if not latency_ms >= 1.0:  # also NaN
        return 0
    return min(BUCKETS - 1, 1 + int(math.log(latency_ms) / _LOG_RATIO))


def bucket_edges(index: int) -> tuple[float, float]:
    """Lower and upper latency (ms) of a bucket; the last one's upper edge is its lower × RATIO."""
    lower = 0.0 if index == 0 else RATIO ** (index - 1)
    return lower, RATIO**index


def define(metadata: MetaData) -> Table:
    from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table

    return Table(
        TABLE,
        metadata,
        Column("model", String(200), primary_key=True),
        Column("version", String(100), primary_key=True),  # "" when the request had none
        Column("minute", Integer, primary_key=True, autoincrement=False),  # epoch seconds // 60
        Column("requests", BigInteger, nullable=False),
        Column("errors", BigInteger, nullable=False),
        Column("latency_ms_sum", Float, nullable=False),
        *(Column(name, BigInteger, nullable=False) for name in _BUCKET_COLUMNS),
        Index("ix_gateway_request_minutes_minute", "minute"),  # a window's rows, any model
    )


@dataclass
class _Counts:
    requests: int = 0
    errors: int = 0
    latency_ms_sum: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def add(self, row: Mapping[Any, Any]) -> None:
        latency = float(row["latency_ms"])
        self.requests += 1
        self.errors += int(row["status"] >= 400 or row["error"] is not None)
        self.latency_ms_sum += latency if math.isfinite(latency) else 0.0  # NaN: not storable
        self.buckets[bucket_of(latency)] += 1


def _fold(rows: Iterable[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, int], _Counts] = {}
    for row in rows:
        key = (str(row["model"]), str(row["version"] or ""), int(float(row["ts"]) // 60))
        counts = groups.get(key)
        if counts is None:
            counts = groups[key] = _Counts()
        counts.add(row)
    return [  # sorted: concurrent writers lock the same rows in the same order
        {"model": model, "version": version, "minute": minute, "requests": c.requests,
         "errors": c.errors, "latency_ms_sum": c.latency_ms_sum,
         **dict(zip(_BUCKET_COLUMNS, c.buckets, strict=True))}
        for (model, version, minute), c in sorted(groups.items())
    ]  # fmt: skip


def add(connection: Connection, table: Table, rows: Iterable[Mapping[Any, Any]]) -> None:
    """Add the counts of ``rows`` (request-log rows) to their minutes, in the caller's
    transaction."""
    values = _fold(rows)
    if not values:
        return
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.model, table.c.version, table.c.minute],
        set_={name: table.c[name] + statement.excluded[name] for name in _COUNTERS},
    )
    connection.execute(statement, values)


def ensure(engine: Engine, table: Table, requests: Table) -> None:
    """Create the roll-up table when missing and roll up the recent requests into it, once.

    Creation and back-fill run under one lock (``BEGIN IMMEDIATE`` on SQLite, an advisory
    lock on PostgreSQL) so two processes starting together neither fail nor count twice,
    and no batch commits between the back-fill's read and the table's first use."""
    from sqlalchemy import inspect, select, text

    if inspect(engine).has_table(TABLE):
        return
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.begin()
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_ROLLUP_LOCK_KEY})"))
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        if not inspect(connection).has_table(TABLE):
            table.create(connection)
            since = time.time() - BACKFILL_S
            r = requests.c
            result = connection.execute(
                select(r.model, r.version, r.ts, r.latency_ms, r.status, r.error).where(
                    r.ts >= since
                )
            )
            batch = result.mappings().fetchmany(50_000)
            while batch:
                add(connection, table, batch)
                batch = result.mappings().fetchmany(50_000)
        connection.commit()


@dataclass
class Totals:
    """One (model, version)'s roll-up over a window."""

    model: str
    version: str | None
    requests: int
    errors: int
    latency_ms_sum: float
    buckets: list[int]


def totals(connection: Connection, table: Table, start: float, end: float) -> list[Totals]:
    """Sums per (model, version) of the minutes that start in ``[start, end)``.

    A minute counts whole, so the window is ``[ceil(start/60)·60, end)`` rounded to the
    minute: it covers up to 59 s less than asked, never requests outside it (except those
    of ``end``'s own minute logged after ``end``)."""
    from sqlalchemy import func, select

    first, last = math.ceil(start / 60), math.floor(end / 60)
    sums = [func.sum(table.c[name]) for name in _COUNTERS]
    query = (
        select(table.c.model, table.c.version, *sums)
        .where(table.c.minute >= first, table.c.minute <= last)
        .group_by(table.c.model, table.c.version)
    )
    return [
        Totals(str(row[0]), str(row[1]) or None, int(row[2]), int(row[3]), float(row[4]),
               [int(v) for v in row[5:]])
        for row in connection.execute(query)
    ]  # fmt: skip


def percentile_ms(buckets: list[int], fraction: float) -> float | None:
    """The ``fraction`` percentile (nearest rank) estimated from summed bucket counts."""
    n = sum(buckets)
    if n == 0:
        return None
    rank = max(0, min(n - 1, int(round(fraction * (n - 1)))))
    below = 0
    for index, count in enumerate(buckets):
        if count and rank < below + count:
            lower, upper = bucket_edges(index)
            return lower + (upper - lower) * (rank - below + 0.5) / count
        below += count
    return None  # unreachable: rank < n
