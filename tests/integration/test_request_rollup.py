"""The request log's per-minute roll-up (what the dashboard's health reads) agrees with its rows."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from safeship.gateway import rollup
from safeship.gateway.requestlog import RequestLog, RequestRecord


def _record(i: int, ts: float, version: str | None = "1.0.0") -> RequestRecord:
    failed = i % 9 == 0
    return RequestRecord(
        request_id=f"r{i}", ts=ts, model=f"m{i % 2}", version=version, role="stable",
        endpoint="chat", user_hash="u", prompt="p", output=None if failed else "ok",
        latency_ms=float(1 + (i * 37) % 400), status=503 if failed else 200,
        error="upstream" if failed else None,
    )  # fmt: skip


def _exact_p95(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[int(round(0.95 * (len(ordered) - 1)))]


def _check(url: str) -> None:
    now = time.time()
    records = [_record(i, now - 1800 + i * 3, None if i == 7 else "1.0.0") for i in range(500)]
    first, second = RequestLog(url), RequestLog(url)  # two replicas adding to the same minutes
    try:
        first.write(records[:250])
        second.write(records[250:])
        with first.engine.connect() as connection:
            totals = rollup.totals(connection, first.minutes, now - 3600, now)
        for model in ("m0", "m1"):
            mine = [r for r in records if r.model == model]
            got = [t for t in totals if t.model == model]
            assert sum(t.requests for t in got) == len(mine)
            assert sum(t.errors for t in got) == sum(r.status >= 400 for r in mine)
            merged = [sum(t.buckets[i] for t in got) for i in range(rollup.BUCKETS)]
            exact = _exact_p95([r.latency_ms for r in mine])
            estimate = rollup.percentile_ms(merged, 0.95)
            assert estimate is not None and exact / rollup.RATIO <= estimate <= exact * rollup.RATIO
        assert {t.version for t in totals} == {"1.0.0", None}  # no version: its own line
        # a log created before the roll-up existed is rolled up once, not per process
        with first.engine.begin() as connection:
            first.minutes.drop(connection)
        third, fourth = RequestLog(url), RequestLog(url)
        third.close(), fourth.close()
        with first.engine.connect() as connection:
            assert connection.execute(select(func.sum(first.minutes.c.requests))).scalar() == 500
    finally:
        first.close(), second.close()


def test_rollup_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'requests.db'}")


@pytest.mark.postgres
def test_rollup_postgres(pg_url: str) -> None:
    _check(pg_url)


def test_buckets_cover_every_latency() -> None:
    assert rollup.bucket_of(0.0) == 0 and rollup.bucket_of(float("nan")) == 0
    for latency in (1.0, 1.3, 95.0, 2500.0, 1e9):
        lower, upper = rollup.bucket_edges(rollup.bucket_of(latency))
        assert lower <= latency and (latency < upper or latency >= lower * rollup.RATIO)
    assert rollup.percentile_ms([0] * rollup.BUCKETS, 0.95) is None


def test_dashboard_sample_follows_new_requests(tmp_path: Path) -> None:
    """A page after new traffic scores the same outputs a first page would (kept incrementally)."""
    from safeship.dashboard.health import ScoreCache, health_of
    from safeship.params import Params

    safety = Params().safety
    log = RequestLog(f"sqlite:///{tmp_path / 'requests.db'}")
    now = time.time()
    try:
        log.write([_record(i, now - 900 + i) for i in range(200)])
        cache = ScoreCache()
        first = health_of(log, ["m0", "m1"], safety, sample=40, cache=cache)
        assert first["m0"].scored == 40
        log.write([_record(i, now - 600 + i) for i in range(200, 260)])  # newer, some failed
        kept = health_of(log, ["m0", "m1"], safety, sample=40, cache=cache)
        fresh = health_of(log, ["m0", "m1"], safety, sample=40)
        for model in ("m0", "m1"):
            assert kept[model] == fresh[model]
        t = log.table
        with log.engine.connect() as connection:
            newest = connection.execute(
                select(func.max(t.c.id)).where(t.c.model == "m0", t.c.status < 400)
            ).scalar()
        assert cache.answered["m0"][0][1] == newest
    finally:
        log.close()
