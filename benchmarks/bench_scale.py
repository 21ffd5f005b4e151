"""The registry at team scale on PostgreSQL: many models x many versions.

    .venv/bin/python benchmarks/bench_scale.py [--models 1000] [--versions 1000] [--quick]

Builds, in a PostgreSQL database of its own (created and dropped here), ``--models`` models
with ``--versions`` versions each (``COPY``; one-file manifests), a deployment per model and
10 ``deployment_history`` rows per model. Then times, through the registry's own methods
(what the CLI commands call), median of 5:

* ``safeship status``: ``models()`` + ``deployment(name)`` for every model;
* ``safeship versions MODEL``: ``versions(model)`` of one model;
* ``safeship audit history MODEL --at T``: ``history_at``;
* one gateway follower sync's reads (``follower.read_model_state`` of every model), against
  what the follower read before issue 16's change: ``versions(model)`` of every model.

Baselines in the same run: the same numbers with ``--models``/10 models (the ratio shows
how each grows). Ledger ``verify`` at 1M events is ``bench_ledger.py --pg``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
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


def build(url: str, n_models: int, n_versions: int) -> float:
    import psycopg

    from safeship.registry import db

    engine = db.make_engine(url)
    db.ensure_schema(engine)
    engine.dispose()
    started = time.perf_counter()
    with psycopg.connect(url) as connection:
        _copy(connection, "models", "id, name, risk_tier, owner, created_at",
              ((m + 1, f"model-{m:05d}", "medium", "team", _time(0)) for m in range(n_models)))  # fmt: skip

        def versions() -> Iterator[tuple[Any, ...]]:
            for m in range(n_models):
                for v in range(n_versions):
                    digest = uuid.uuid5(uuid.NAMESPACE_OID, f"{m}/{v}").hex
                    manifest = json.dumps({"dir_hash": digest + ".dir", "files": [
                        {"path": "weights.bin", "md5": digest, "size": 1000 + v}]})  # fmt: skip
                    status = "production" if v == n_versions - 1 else "retired"
                    yield (m + 1, f"1.{v}.0", digest + ".dir", manifest, "{}", None, "ngram",
                           "ann", "", _time(v), status)  # fmt: skip

        _copy(connection, "model_versions", "model_id, version, dir_hash, manifest, lineage, "
              "parent_version, adapter, author, notes, created_at, status", versions())  # fmt: skip
        _copy(connection, "deployments", "model_id, production_version, canary_version, "
              "canary_weight, shadow_version, updated_at",
              ((m + 1, f"1.{n_versions - 1}.0", None, 0, None, _time(n_versions))
               for m in range(n_models)))  # fmt: skip
        _copy(connection, "deployment_history", "model_name, at, seq, production_version, "
              "canary_version, canary_weight, shadow_version",
              ((f"model-{m:05d}", _time(h * 100), m * 10 + h, f"1.{h}.0", None, 0, None)
               for m in range(n_models) for h in range(10)))  # fmt: skip
        connection.commit()
        connection.execute("ANALYZE")
    return time.perf_counter() - started


def _median(run: Callable[[], Any], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return float(statistics.median(times))


def measure(url: str, n_models: int) -> dict[str, float]:
    from safeship.config import Settings
    from safeship.gateway.follower import read_model_state
    from safeship.registry.store import Registry

    settings = Settings(Path("/tmp"), Path("/tmp/bench-scale-state"), url)
    with Registry.open(settings) as registry:
        model = f"model-{n_models // 2:05d}"
        at = START + timedelta(seconds=450)

        def status() -> None:
            for record in registry.models():
                registry.deployment(record.name)

        result = {
            "status (all models)": _median(status),
            "versions (one model)": _median(lambda: registry.versions(model)),
            "history --at": _median(lambda: registry.history_at(model, at)),
        }
        started = time.perf_counter()
        for record in registry.models():
            read_model_state(registry, record.name)
        result["follower sync reads (read_model_state)"] = time.perf_counter() - started
        started = time.perf_counter()
        for record in registry.models():
            registry.versions(record.name)
        result["baseline: versions() of every model"] = time.perf_counter() - started
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="200 models x 100 versions")
    args = parser.parse_args()
    if args.quick:
        args.models, args.versions = 200, 100
    header(f"Registry scale on PostgreSQL: {args.models} models x {args.versions} versions")
    results = {}
    for n_models in (max(1, args.models // 10), args.models):
        with database() as url:
            built = build(url, n_models, args.versions)
            print(f"built {n_models} x {args.versions} versions in {built:.1f} s")
            results[n_models] = measure(url, n_models)
    small, large = sorted(results)
    rows = [[what, fmt_seconds(results[small][what]), fmt_seconds(results[large][what]),
             f"{results[large][what] / results[small][what]:.1f}x"]
            for what in results[large]]  # fmt: skip
    print(table(["operation", f"{small} models", f"{large} models", "ratio"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
