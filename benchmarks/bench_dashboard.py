"""Dashboard overview render time on a large registry, as a ratio to a bare registry query.

    .venv/bin/python benchmarks/bench_dashboard.py [--models 50] [--versions 200]
        [--events 1000000] [--requests 36000] [--repeats 30] [--quick]

Builds, in a temporary folder, a SQLite registry with ``--models`` x ``--versions``
versions (raw ``executemany``), a ledger of ``--events`` events with a correct SHA-256
chain (every 500th a promotion or rollback with its ``deployment_history`` row, as the
registry writes them), each model's deployment row, and a request log with ``--requests``
requests spread over the last hour across the models. Then, alternating, ``--repeats``
times each:

* the overview page, rendered as served (``Site(ctx, "server").overview()``: set-based
  registry reads, last rollbacks, request-log health with safety scoring per model);
* the overview without the request log (registry and ledger reads only);
* baseline: a bare registry query — ``Registry.models()`` then ``deployment()`` of each
  model (what ``safeship status`` reads).

Prints p50/p95 of each, the p95 ratios, and the p95 of the process's CPU time per render
(SQLite runs in the process, so that is the whole cost without waiting for a core).
Request-log health is read from the per-minute roll-up the writer keeps
(``gateway.rollup``). The full ledger check runs off the request path
(``LedgerWatch``); its time is printed once. ``--quick``: 10 models x 20 versions, 20k
events, 3k requests, 10 repeats. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt_seconds, header, percentile, table, timed  # noqa: E402

from safeship.config import Settings  # noqa: E402
from safeship.dashboard.context import Context  # noqa: E402
from safeship.dashboard.site import Site  # noqa: E402
from safeship.gateway.requestlog import RequestRecord  # noqa: E402
from safeship.ledger import GENESIS_HASH, canonical_json, chain_hash, event_document, format_time  # noqa: E402

BATCH = 100_000
EVENT_COLUMNS = "seq, time, actor, kind, model, version, payload, prev_hash, hash"
HISTORY_COLUMNS = (
    "model_name, at, seq, production_version, canary_version, canary_weight, shadow_version"
)


def _models(raw: Any, n_models: int, n_versions: int, now: str) -> list[str]:
    names = [f"model-{i:03d}" for i in range(n_models)]
    cursor = raw.cursor()
    cursor.execute("BEGIN")
    cursor.executemany(
        "INSERT INTO models (name, risk_tier, owner, created_at) VALUES (?, ?, ?, ?)",
        [(name, "medium", "bench", now) for name in names],
    )
    lineage = canonical_json({"git": {"commit": "ab" * 20, "dirty": False}})
    manifest = canonical_json({"dir_hash": "d" * 32 + ".dir", "files": []})
    statuses = ("retired", "rejected", "approved")

    def status(m: int, v: int) -> str:  # one version in five models waits for approval
        if v == n_versions - 1:
            return "production"
        return "gated" if v == n_versions - 3 and m % 10 == 0 else statuses[v % len(statuses)]

    cursor.executemany(
        "INSERT INTO model_versions (model_id, version, dir_hash, manifest, lineage, "
        "parent_version, adapter, author, notes, created_at, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (m + 1, f"1.{v}.0", "d" * 32 + ".dir", manifest, lineage,
             f"1.{v - 1}.0" if v else None, "ngram", "bench", None, now,
             status(m, v))
            for m in range(n_models)
            for v in range(n_versions)
        ],
    )  # fmt: skip
    cursor.executemany(
        "INSERT INTO deployments (model_id, production_version, canary_version, canary_weight, "
        "shadow_version, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(m + 1, f"1.{n_versions - 1}.0", f"1.{n_versions - 2}.0", 10, None, now)
         for m in range(n_models)],
    )  # fmt: skip
    cursor.execute("COMMIT")
    return names


def _ledger(raw: Any, names: list[str], n_events: int, start: datetime) -> None:
    cursor = raw.cursor()
    prev, seq = GENESIS_HASH, 1
    while seq <= n_events:
        events, history = [], []
        for s in range(seq, min(seq + BATCH, n_events + 1)):
            model = names[s % len(names)]
            moment = format_time(start + timedelta(milliseconds=s))
            if s % 500 == 0:
                kind = "deployment.rolled_back" if s % 1000 == 0 else "deployment.promoted"
                payload = {"from_version": "1.1.0", "reason": f"step {s}", "run_id": None}
                history.append((model, moment, s, "1.0.0", None, 0, None))
            else:
                kind, payload = "canary.analysis", {"step": s % 4, "decision": "continue"}
            row = (s, moment, "bench", kind, model, "1.0.0", canonical_json(payload))
            digest = chain_hash(prev, event_document(*row))
            events.append((*row, prev, digest))
            prev = digest
        cursor.execute("BEGIN")
        cursor.executemany(
            f"INSERT INTO ledger_events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 9)})", events
        )
        cursor.executemany(
            f"INSERT INTO deployment_history ({HISTORY_COLUMNS}) VALUES ({', '.join('?' * 7)})",
            history,
        )
        cursor.execute("COMMIT")
        seq += BATCH


def _requests(ctx: Context, names: list[str], n: int) -> None:
    log = ctx.request_log
    assert log is not None
    rng = random.Random(1)
    now = time.time()
    texts = (
        "Open the settings page and reset it.",
        "Write to help@example.com.",
        "Boil it for ten minutes.",
    )
    records = [
        RequestRecord(request_id=f"r{i}", ts=now - rng.uniform(0, 3500), model=rng.choice(names),
                      version="1.0.0", role="stable", endpoint="chat", user_hash="u", prompt="p",
                      output=rng.choice(texts), latency_ms=rng.uniform(5, 200),
                      status=500 if rng.random() < 0.02 else 200)
        for i in range(n)
    ]  # fmt: skip
    for start in range(0, n, 5000):
        log.write(records[start : start + 5000])


def build(root: Path, args: argparse.Namespace) -> Context:
    settings = Settings(
        project_root=root, state_dir=root / "state", db_url=f"sqlite:///{root / 'registry.db'}"
    )
    ctx = Context.open(settings, prefect_api=None)
    raw = ctx.registry.engine.raw_connection()
    try:
        names = _models(raw, args.models, args.versions, format_time(datetime.now(UTC)))
        _ledger(raw, names, args.events, datetime.now(UTC) - timedelta(days=30))
    finally:
        raw.close()
    _requests(ctx, names, args.requests)
    return ctx


def bare_query(ctx: Context) -> int:
    records = ctx.registry.models()
    return len([ctx.registry.deployment(m.name) for m in records])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=36_000, help="in the last hour")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.models, args.versions, args.events, args.requests, args.repeats = (
            10,
            20,
            20_000,
            3_000,
            10,
        )
    header(f"dashboard overview: {args.models} models x {args.versions} versions, "
           f"{args.events} ledger events, {args.requests} requests in the last hour")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as folder:
        built, ctx = timed(lambda: build(Path(folder), args))
        print(f"built in {fmt_seconds(built)}")
        verify_s, result = timed(ctx.ledger.refresh)
        print(
            f"full ledger check (off the request path): {fmt_seconds(verify_s)}, ok={result.ok}, {result.count} events"
        )
        site = Site(ctx, "server")
        html = site.overview()  # warm: imports, scorer models, first queries
        assert html.count('data-model="') == args.models
        url = ctx.request_log_url
        timings: dict[str, list[float]] = {
            "overview": [],
            "overview, no request log": [],
            "bare registry query": [],
        }
        cpu: dict[str, list[float]] = {name: [] for name in timings}

        def measure(name: str, run: Any) -> None:
            started = time.process_time()
            timings[name].append(timed(run)[0])
            cpu[name].append(time.process_time() - started)

        for _ in range(args.repeats):
            measure("overview", site.overview)
            ctx.request_log_url, ctx._request_log, saved = None, None, ctx._request_log
            measure("overview, no request log", site.overview)
            ctx.request_log_url, ctx._request_log = url, saved
            measure("bare registry query", lambda: bare_query(ctx))
        base = percentile(timings["bare registry query"], 95)
        rows = [
            (
                name,
                fmt_seconds(percentile(v, 50)),
                fmt_seconds(percentile(v, 95)),
                f"{percentile(v, 95) / base:.1f}x",
                fmt_seconds(percentile(cpu[name], 95)),
            )
            for name, v in timings.items()
        ]
        print(table(["what", "p50", "p95", "p95 / bare query p95", "CPU time p95"], rows))
        print(json.dumps({k: round(percentile(v, 95), 4) for k, v in timings.items()}))
        ctx.close()


if __name__ == "__main__":
    main()
