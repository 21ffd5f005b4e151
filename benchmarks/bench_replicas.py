"""Gateway replicas on one PostgreSQL registry: follower DB load and rollback under load.

1. **Follower DB load**: N idle ``safeship gateway`` replicas (8; ``--quick`` 4) follow a
   registry in a database of their own, first polling (``SAFESHIP_GATEWAY_FOLLOW=poll``,
   ``serving.poll_interval_ms`` 150), then with LISTEN/NOTIFY. Queries/s are the database's
   committed + rolled-back transactions (``pg_stat_database``) over a window, read from
   another database so the reading does not count. Ratio: polling / NOTIFY.
2. **Rollback under load**: 3 replicas behind HAProxy (the shipped
   ``safeship.gateway.balancer``), a steady load through the load balancer, production
   flipped ``--flips`` times (>= 20) between two versions. Failed requests through the load
   balancer, and per flip and replica the time from the move's commit until that replica
   answers with the target version (probed directly). Both follow modes, in the same run.

Usage: ``python benchmarks/bench_replicas.py [--quick]`` (needs PostgreSQL and haproxy).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_seconds, header, percentile, table, two_version_project  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("SAFESHIP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MODEL = "replica-chat"
PARAMS = "serving:\n  poll_interval_ms: 150\n  request_log:\n    enabled: false\n"
BODY = {"model": MODEL, "prompt": "How do I make tomato soup?", "max_tokens": 4}


@contextmanager
def database() -> Iterator[tuple[str, str]]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"bench_replicas_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False), name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_project(base: Path, db_url: str) -> tuple[Any, Any]:
    return two_version_project(base, MODEL, db_url=db_url, params_yaml=PARAMS)


@contextmanager
def replicas(settings: Any, count: int, mode: str, balancer: bool) -> Iterator[Any]:
    from safeship.team import TeamStack

    stack = TeamStack(settings, prefect_db_url="", replicas=count,
                      gateway_port=TeamStack.free_port(), project=settings.project_root)  # fmt: skip
    stack.env.update({"SAFESHIP_DB_URL": settings.db_url, "SAFESHIP_HOME": str(settings.state_dir),
                      "SAFESHIP_GATEWAY_FOLLOW": mode, "SAFESHIP_GATEWAY_AUTH": "off"})  # fmt: skip
    try:
        stack.start_replicas()
        if balancer:
            stack.start_balancer()
        yield stack
    finally:
        stack.stop()


def transactions(name: str) -> int:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_stat_clear_snapshot()")
        row = admin.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (name,),
        ).fetchone()
    return int(row[0]) if row else 0


def bench_db_load(settings: Any, name: str, count: int, window_s: float) -> dict[str, float]:
    rates: dict[str, float] = {}
    for mode in ("poll", "notify"):
        with replicas(settings, count, mode, balancer=False):
            time.sleep(12)  # start-up reads done; backends flush their stats at least every 10 s
            before, started = transactions(name), time.monotonic()
            time.sleep(window_s)
            time.sleep(11)  # let the window's last statistics reach pg_stat_database
            after = transactions(name)
            elapsed = time.monotonic() - started - 11
        rates[mode] = (after - before) / elapsed
    return rates


class Load:
    """A steady stream of requests through the load balancer (threads, keep-alive)."""

    def __init__(self, url: str, threads: int = 6) -> None:
        self.url, self.stop = url, threading.Event()
        self.ok = self.failed = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                try:
                    status = client.post(f"{self.url}/v1/completions", json=BODY).status_code
                    error = "" if status == 200 else f"HTTP {status}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                with self.lock:
                    if error:
                        self.failed += 1
                        self.errors.append(error)
                    else:
                        self.ok += 1

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


def _follow_lag(client: httpx.Client, url: str, target: str, moved: float) -> float:
    while True:
        answer = client.post(f"{url}/v1/completions", json=BODY)
        if answer.headers.get("x-safeship-version") == target:
            return time.monotonic() - moved
        if time.monotonic() - moved > 30:
            return float("inf")


def _probe(
    results: list[float], i: int, client: httpx.Client, url: str, target: str, moved: float
) -> None:
    results[i] = _follow_lag(client, url, target, moved)


def bench_flips(settings: Any, registry: Any, mode: str, flips: int) -> dict[str, Any]:
    lags: list[float] = []
    with replicas(settings, 3, mode, balancer=True) as stack:
        urls = [f"http://127.0.0.1:{port}" for port in stack.replica_ports]
        load = Load(stack.gateway_url)
        clients = [httpx.Client(timeout=10) for _ in urls]
        try:
            current = registry.deployment(MODEL).production
            for _ in range(flips):
                target = "1.1.0" if current == "1.0.0" else "1.0.0"
                registry.promote(MODEL, target, actor="bench", force=True, reason="bench flip")
                moved = time.monotonic()
                results: list[float] = [0.0] * len(urls)
                probes = [
                    threading.Thread(
                        target=_probe, args=(results, i, clients[i], urls[i], target, moved)
                    )
                    for i in range(len(urls))
                ]
                for thread in probes:
                    thread.start()
                for thread in probes:
                    thread.join()
                lags.extend(results)
                current = target
                time.sleep(0.3)
        finally:
            load.close()
            for client in clients:
                client.close()
    return {"ok": load.ok, "failed": load.failed, "errors": load.errors[:3], "lags": lags}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--flips", type=int, default=None)
    args = parser.parse_args()
    count, window = (4, 10.0) if args.quick else (8, 30.0)
    flips = args.flips or (20 if not args.quick else 8)
    for key, value in {"DO_NOT_TRACK": "1", "DVC_NO_ANALYTICS": "1",
                       "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}.items():  # fmt: skip
        os.environ.setdefault(key, value)
    header(f"Gateway replicas on PostgreSQL ({'quick' if args.quick else 'full'})")
    with tempfile.TemporaryDirectory() as tmp, database() as (url, name):
        settings, registry = setup_project(Path(tmp), url)
        rates = bench_db_load(settings, name, count, window)
        print(table(["follow mode", f"registry queries/s, {count} idle replicas"],
                    [[m, f"{r:.2f}"] for m, r in rates.items()]))  # fmt: skip
        ratio = rates["poll"] / max(rates["notify"], 1e-9)
        print(f"\npolling / NOTIFY: {ratio:.1f}x fewer queries with NOTIFY (target >= 10x)\n")
        rows = []
        for mode in ("poll", "notify"):
            result = bench_flips(settings, registry, mode, flips)
            lags, warm = result["lags"], result["lags"][3:]
            rows.append([mode, flips, result["ok"], result["failed"],
                         fmt_seconds(percentile(lags, 50)), fmt_seconds(percentile(lags, 99)),
                         fmt_seconds(percentile(warm, 99)), fmt_seconds(max(lags))])  # fmt: skip
            if result["errors"]:
                print(f"{mode}: first errors: {result['errors']}")
        print(table(["follow mode", "flips", "requests ok", "failed", "lag p50", "lag p99",
                     "p99 after 1st flip", "lag max"], rows))  # fmt: skip
        print("\nlag: from the move's commit to each of 3 replicas answering with the target;")
        print("the first flip of each mode loads (re-hashes) the other version on every replica")
        registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
