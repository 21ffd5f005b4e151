"""The registry at team scale on PostgreSQL: many models x many versions.

    .venv/bin/python benchmarks/bench_scale.py [--models 1000] [--versions 1000]
        [--events 10000000] [--requests 36000] [--follower] [--quick]

Builds, in a PostgreSQL database of its own (created and dropped here), ``--models`` models
with ``--versions`` versions each (``COPY``; one-file manifests whose directory hash is
right), a deployment per model, and a ledger of ``--events`` events with a correct SHA-256
chain, written with ``COPY`` (not the Python API): first a ``version.registered`` for every
version, then a ``deployment.promoted`` of every version in order (each with its
``deployment_history`` row), then filler ``canary.analysis`` events up to ``--events`` — so
the tables are exactly what the ledger explains and ``audit verify``'s cross-check passes.
``--requests`` requests over the last hour go to the request log (the gateway's writer).
Then times, through what the CLI commands and the dashboard call, median of 5:

* ``safeship status``: ``models()`` + ``deployment(name)`` for every model;
* ``safeship versions MODEL``: ``versions(model)`` of one model;
* ``safeship audit history MODEL --at T``: ``history_at``;
* the dashboard's overview (``Site.overview()``: registry, last rollbacks, request-log
  health) and a bare ``Registry.models()`` query;
* once, each in a child process with its peak RSS: ``ledger.verify`` (the chain, streamed
  through a server-side cursor) and the whole ``safeship audit verify`` command (chain,
  signatures, and the replay of every registration and deployment move against the tables);
* with ``--follower``: one gateway follower sync's reads (``follower.read_model_state`` of
  every model) and the read before issue 16 (``versions(model)`` of every model) — slow.

Baselines in the same run: the same numbers with ``--models``/10 models and ``--events``/10
events (the ratio shows how each grows). ``--quick``: 200 x 100, 200k events.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_seconds, header, table  # noqa: E402

PG_URL = os.environ.get("SAFESHIP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
START = datetime(2026, 1, 1, tzinfo=UTC)
EVENT_STEP_MS = 10  # ledger events are 10 ms apart
LEDGER_COLUMNS = "seq, time, actor, kind, model, version, payload, prev_hash, hash"
CHILD = """
import resource, sys, time
from safeship.ledger import verify
from safeship.registry.db import make_engine
engine = make_engine(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
result = verify(engine)
print(result.count, time.perf_counter() - started, before,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@contextmanager
def database() -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"bench_scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _copy(connection: Any, table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> None:
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def _time(i: int) -> str:
    return (START + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")


def _event_time(seq: int) -> str:
    """``ledger.format_time`` of START + seq x 10 ms, without a datetime per event."""
    ms = seq * EVENT_STEP_MS
    day, ms = divmod(ms, 86_400_000)
    date = (START + timedelta(days=day)).strftime("%Y-%m-%d")
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    return f"{date}T{hours:02d}:{minutes:02d}:{ms // 1000:02d}.{ms % 1000 * 1000:06d}+00:00"


def _digest(m: int, v: int) -> str:
    return uuid.uuid5(uuid.NAMESPACE_OID, f"{m}/{v}").hex


def _manifest(m: int, v: int) -> tuple[str, str]:
    """(directory hash, manifest JSON) of a one-file version, hashed as registration does."""
    from safeship.ledger import canonical_json
    from safeship.registry.hashing import FileEntry, Manifest, dir_hash

    files = (FileEntry("weights.bin", _digest(m, v), 1000 + v),)
    manifest = Manifest(files=files, dir_hash=dir_hash(files))
    return manifest.dir_hash, canonical_json(manifest.to_dict())


def _ledger(
    connection: Any,
    names: list[str],
    n_versions: int,
    n_events: int,
    hashes: dict[tuple[int, int], str],
) -> None:
    """Every registration, then every promotion (with its history row), then filler."""
    from safeship.ledger import GENESIS_HASH, canonical_json, event_document

    n_moves = len(names) * n_versions
    filler = canonical_json({"decision": "continue", "step": 1})
    prev = GENESIS_HASH
    sha256 = hashlib.sha256
    history: list[tuple[Any, ...]] = []
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY ledger_events ({LEDGER_COLUMNS}) FROM STDIN") as cp,
    ):
        lines: list[str] = []
        for seq in range(1, n_events + 1):
            j = seq - 1
            if j < n_moves:
                m, v = divmod(j, n_versions)
                kind, version = "version.registered", f"1.{v}.0"
                payload = canonical_json({"author": "ann", "dir_hash": hashes[m, v], "files": 1,
                                          "parent_version": None, "risk_tier": "medium"})  # fmt: skip
            elif j < 2 * n_moves:
                m, v = divmod(j - n_moves, n_versions)
                kind, version = "deployment.promoted", f"1.{v}.0"
                payload = canonical_json({"from_version": f"1.{v - 1}.0" if v else None,
                                          "reason": "scale", "run_id": None})  # fmt: skip
            else:
                m, kind, version, payload = j % len(names), "canary.analysis", "1.0.0", filler
            moment = _event_time(seq)
            document = event_document(seq, moment, "ann", kind, names[m], version, payload)
            digest = sha256(f"{prev}\n{document}".encode()).hexdigest()
            lines.append(
                f"{seq}\t{moment}\tann\t{kind}\t{names[m]}\t{version}\t{payload}\t{prev}\t{digest}\n"
            )
            if kind == "deployment.promoted":
                history.append((names[m], moment, seq, version, None, 0, None))
            prev = digest
            if len(lines) >= 20_000:
                cp.write("".join(lines))
                lines = []
        cp.write("".join(lines))
    _copy(connection, "deployment_history", "model_name, at, seq, production_version, "
          "canary_version, canary_weight, shadow_version", iter(history))  # fmt: skip


def build(url: str, n_models: int, n_versions: int, n_events: int) -> float:
    import psycopg

    from safeship.registry import db

    engine = db.make_engine(url)
    db.ensure_schema(engine)
    engine.dispose()
    started = time.perf_counter()
    names = [f"model-{m:05d}" for m in range(n_models)]
    hashes: dict[tuple[int, int], str] = {}
    with psycopg.connect(url) as connection:
        connection.execute("SET synchronous_commit = off")
        _copy(connection, "models", "id, name, risk_tier, owner, created_at",
              ((m + 1, names[m], "medium", "team", _time(0)) for m in range(n_models)))  # fmt: skip

        def versions() -> Iterator[tuple[Any, ...]]:
            for m in range(n_models):
                for v in range(n_versions):
                    digest, manifest = _manifest(m, v)
                    hashes[m, v] = digest
                    status = "production" if v == n_versions - 1 else "retired"
                    yield (m + 1, f"1.{v}.0", digest, manifest, "{}", None, "ngram",
                           "ann", "", _time(v), status)  # fmt: skip

        _copy(connection, "model_versions", "model_id, version, dir_hash, manifest, lineage, "
              "parent_version, adapter, author, notes, created_at, status", versions())  # fmt: skip
        _copy(connection, "deployments", "model_id, production_version, canary_version, "
              "canary_weight, shadow_version, updated_at",
              ((m + 1, f"1.{n_versions - 1}.0", None, 0, None, _time(n_versions))
               for m in range(n_models)))  # fmt: skip
        _ledger(connection, names, n_versions, n_events, hashes)
        connection.commit()
        connection.execute("ANALYZE")
    return time.perf_counter() - started


def _requests(url: str, names: list[str], n: int) -> None:
    import random

    from safeship.gateway.requestlog import RequestLog, RequestRecord

    rng, now = random.Random(1), time.time()
    log = RequestLog(url)
    try:
        for start in range(0, n, 5000):
            log.write([RequestRecord(request_id=f"r{i}", ts=now - rng.uniform(0, 3500),
                                     model=rng.choice(names), version="1.0.0", role="stable",
                                     endpoint="chat", user_hash="u", prompt="p",
                                     output="Boil it for ten minutes.",
                                     latency_ms=rng.uniform(5, 200),
                                     status=500 if rng.random() < 0.02 else 200)
                       for i in range(start, min(n, start + 5000))])  # fmt: skip
    finally:
        log.close()


def _median(run: Callable[[], Any], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return float(statistics.median(times))


def _child_verify(url: str) -> tuple[float, float]:
    """``ledger.verify`` in a fresh process: (seconds, peak RSS growth in MiB)."""
    done = subprocess.run([sys.executable, "-c", CHILD, url], capture_output=True, text=True,
                          check=True)  # fmt: skip
    _count, seconds, before, after = done.stdout.split()
    return float(seconds), (int(after) - int(before)) / 1024


def _child_audit(url: str) -> tuple[float, float, str]:
    """``safeship audit verify`` as a user runs it: (seconds, peak RSS MiB, its last line)."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-audit-") as folder:
        env = {**os.environ, "SAFESHIP_DB_URL": url}
        command = [str(Path(sys.executable).parent / "safeship"), "audit", "verify"]
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "peak-kib %M", *command], cwd=folder,
                              env=env, capture_output=True, text=True)  # fmt: skip
        seconds = time.perf_counter() - started
    lines = (done.stdout + done.stderr).strip().splitlines()
    peak = next((int(x.split()[1]) / 1024 for x in lines if x.startswith("peak-kib ")), 0.0)
    said = [x for x in lines if not x.startswith(("peak-kib ", "Command exited"))]
    return seconds, peak, f"exit {done.returncode}: {said[-1][:160] if said else ''}"


def measure(url: str, n_models: int, args: argparse.Namespace) -> dict[str, float]:
    from safeship.config import Settings
    from safeship.dashboard.context import Context
    from safeship.dashboard.site import Site
    from safeship.gateway.follower import read_model_state
    from safeship.registry.store import Registry

    names = [f"model-{m:05d}" for m in range(n_models)]
    _requests(url, names, args.requests)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
        root = Path(folder)
        settings = Settings(root, root / "state", url)
        registry = Registry.open(settings)
        ctx = Context.open(settings, prefect_api=None, request_log_url=url)
        try:
            model = names[n_models // 2]
            at = START + timedelta(milliseconds=EVENT_STEP_MS * (n_models * args.versions * 3 // 2))

            def status() -> None:
                for record in registry.models():
                    registry.deployment(record.name)

            site = Site(ctx, "server")
            assert site.overview().count('data-model="') == n_models  # warm
            result = {
                "status (all models)": _median(status),
                "versions (one model)": _median(lambda: registry.versions(model)),
                "history --at": _median(lambda: registry.history_at(model, at)),
                "dashboard overview": _median(site.overview),
                "bare models() query": _median(registry.models),
            }
            if args.follower:
                started = time.perf_counter()
                for record in registry.models():
                    read_model_state(registry, record.name)
                result["follower sync reads (read_model_state)"] = time.perf_counter() - started
                started = time.perf_counter()
                for record in registry.models():
                    registry.versions(record.name)
                result["baseline: versions() of every model"] = time.perf_counter() - started
        finally:
            ctx.close()
            registry.close()
    seconds, rss = _child_verify(url)
    result["ledger.verify (chain, streamed)"] = seconds
    result["ledger.verify peak RSS growth (MiB)"] = rss
    seconds, peak, said = _child_audit(url)
    print(f"  safeship audit verify: {said}")
    result["safeship audit verify (whole command)"] = seconds
    result["audit verify peak RSS (MiB)"] = peak
    return result


def _cell(what: str, value: float) -> str:
    return f"{value:.0f}" if "MiB" in what else fmt_seconds(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=36_000)
    parser.add_argument("--follower", action="store_true", help="also time follower sync reads")
    parser.add_argument("--quick", action="store_true", help="200 models x 100 versions")
    args = parser.parse_args()
    if args.quick:
        args.models, args.versions, args.events = 200, 100, 200_000
    header(f"Registry scale on PostgreSQL: {args.models} models x {args.versions} versions, "
           f"{args.events} ledger events")  # fmt: skip
    results: dict[int, dict[str, float]] = {}
    events: dict[int, int] = {}
    for n_models in (max(1, args.models // 10), args.models):
        n_events = max(2 * n_models * args.versions, args.events * n_models // args.models)
        events[n_models] = n_events
        with database() as url:
            built = build(url, n_models, args.versions, n_events)
            print(f"built {n_models} x {args.versions} versions, {n_events} events in {built:.1f} s"
                  f" (load average {os.getloadavg()[0]:.1f})")  # fmt: skip
            results[n_models] = measure(url, n_models, args)
            for what, value in results[n_models].items():
                print(f"  {what}: {_cell(what, value)}")
            rate = n_events / results[n_models]["ledger.verify (chain, streamed)"]
            print(f"  ledger.verify: {rate:,.0f} events/s")
    small, large = sorted(results)
    rows = [[what, _cell(what, results[small][what]), _cell(what, results[large][what]),
             f"{results[large][what] / max(results[small][what], 1e-9):.1f}x"]
            for what in results[large]]  # fmt: skip
    print(table(["operation", f"{small} models, {events[small]} events",
                 f"{large} models, {events[large]} events", "ratio"], rows))  # fmt: skip
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
