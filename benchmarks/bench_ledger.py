"""Audit-ledger verification and point-in-time history over a large ledger.

    .venv/bin/python benchmarks/bench_ledger.py [--events 1000000] [--repeats 3] [--pg] [--quick]
        [--signed-every 50]

Builds ``--events`` ledger events into a fresh registry database (``make_engine`` +
``ensure_schema``, then raw ``executemany`` in large transactions — ``COPY`` on
PostgreSQL) with a correct SHA-256 chain computed by ``safeship.ledger.event_document`` /
``chain_hash``. Every 50th event is a ``deployment.promoted`` of one of five models and
also writes its ``deployment_history`` row, as ``Registry.promote`` does.

Then, alternating, ``--repeats`` times each:

* ``safeship.ledger.verify(engine)`` — events/s (target ≥ 100k/s); baseline: a raw loop
  that only fetches the same rows (same SELECT ... ORDER BY seq, ``fetchmany``) without
  hashing. The ratio verify_time / fetch_time is what the hashing costs on top of reading.
* ``safeship.ledger.verify(engine, signers)`` — the same, also re-verifying every signed
  event's ed25519 signature against the allowed_signers keys (issue 14; target ≥ 50k/s).
  Every ``--signed-every``-th event (default: every promotion, 1 in 50) carries alice's
  signed statement; ``--signed-every 1`` signs every event (the worst case).
* ``Registry.history_at(model, t)`` for 200 random (model, time) pairs — p50/p99 latency
  (target < 50 ms); baseline: the same indexed SELECT on the raw DB-API connection. Each
  answer is checked against the history the builder wrote.

SQLite runs in a temporary folder under /tmp; ``--pg`` uses a fresh schema in
postgresql://postgres@127.0.0.1:5432/test (``SAFESHIP_BENCH_PG_URL`` overrides) and drops
it at the end. Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import bisect
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    fmt_runs,
    fmt_seconds,
    header,
    median,
    percentile,
    table,
    timed,
)
from sqlalchemy import Engine, text  # noqa: E402

from safeship.access.identities import Signers, parse_signers  # noqa: E402
from safeship.access.signatures import SigningKey, statement  # noqa: E402
from safeship.config import Settings  # noqa: E402
from safeship.ledger import (  # noqa: E402
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    event_document,
    format_time,
    verify,
)
from safeship.registry.db import ensure_schema, make_engine  # noqa: E402
from safeship.registry.store import Registry  # noqa: E402

MODELS = ("chat-small", "chat-large", "summariser", "coder", "moderator")
PROMOTE_EVERY = 50
BATCH = 100_000
START = datetime(2025, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=7)
SELECT_ALL = (
    "SELECT seq, time, actor, kind, model, version, payload, prev_hash, hash "
    "FROM ledger_events ORDER BY seq"
)
EVENT_COLUMNS = (
    "seq, time, actor, kind, model, version, payload, prev_hash, hash, actor_key, signature"
)
SIGNER = SigningKey.generate()  # alice's key for the signed events (made per run)
HISTORY_COLUMNS = (
    "model_name, at, seq, production_version, canary_version, canary_weight, shadow_version"
)
KINDS = ("version.registered", "version.validated", "version.gated", "approval.recorded")
ACTORS = ("ann", "bob", "ci-bot", "release-flow")


# ------------------------------------------------------------------------ building
def _sign(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The row as alice's signed statement about it (actor, key, signature added)."""
    seq, time_s, _actor, kind, model, version, payload = row
    token = SIGNER.sign(statement(kind, "alice", model=model, version=version, seq=seq))
    return (seq, time_s, "alice", kind, model, version, payload, SIGNER.public.fingerprint, token)


def _event(seq: int, moment: datetime) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
    """One event row (without the chain) and its deployment_history row, if any."""
    model = MODELS[seq % len(MODELS)]
    version = f"{1 + seq // 100_000}.{(seq // 1000) % 100}.{seq % 1000}"
    time_s = format_time(moment)
    if seq % PROMOTE_EVERY == 0:
        payload = {
            "forced": False,
            "from_status": "approved",
            "from_version": None,
            "reason": None,
            "run_id": f"run-{seq:08d}",
        }
        history = (model, time_s, seq, version, None, 0, None)
        kind, actor = "deployment.promoted", "release-flow"
    else:
        kind = KINDS[seq % len(KINDS)]
        actor = ACTORS[seq % len(ACTORS)]
        payload = {"from": "registered", "to": kind.split(".")[1], "reason": f"step {seq}"}
        history = None
    return (seq, time_s, actor, kind, model, version, canonical_json(payload)), history


def build(
    engine: Engine, n_events: int, signed_every: int = 0
) -> dict[str, list[tuple[str, int, str]]]:
    """Write the models, ``n_events`` chained events and the promotions' history rows.

    Returns, per model, the promotions as (time, seq, version), in order, for checking.
    """
    dialect = engine.dialect.name
    raw = engine.raw_connection()
    promotions: dict[str, list[tuple[str, int, str]]] = {m: [] for m in MODELS}
    try:
        cursor = raw.cursor()
        now = format_time(START)
        mark = "?" if dialect == "sqlite" else "%s"
        if dialect == "sqlite":
            cursor.execute("BEGIN")
        cursor.executemany(
            f"INSERT INTO models (name, risk_tier, owner, created_at) VALUES ({mark}, {mark}, {mark}, {mark})",
            [(m, "medium", "bench", now) for m in MODELS],
        )
        if dialect == "sqlite":
            cursor.execute("COMMIT")
        else:
            raw.commit()
        prev = GENESIS_HASH
        seq = 1
        while seq <= n_events:
            events: list[tuple[Any, ...]] = []
            history: list[tuple[Any, ...]] = []
            for s in range(seq, min(seq + BATCH, n_events + 1)):
                row, hist = _event(s, START + STEP * s)
                signs = signed_every and s % signed_every == 0
                row = _sign(row) if signs else (*row, None, None)
                digest = chain_hash(prev, event_document(*row))
                seq_, time_s, actor, kind, model, version, payload, key, token = row
                events.append(
                    (seq_, time_s, actor, kind, model, version, payload, prev, digest, key, token)
                )
                prev = digest
                if hist is not None:
                    history.append(hist)
                    promotions[hist[0]].append((hist[1], s, hist[3]))
            _insert(raw, cursor, dialect, events, history)
            seq += BATCH
        cursor.close()
    finally:
        raw.close()
    if dialect == "postgresql":  # what autovacuum would do soon after a bulk load
        with engine.begin() as connection:
            connection.execute(text("ANALYZE ledger_events"))
            connection.execute(text("ANALYZE deployment_history"))
    return promotions


def _insert(
    raw: Any,
    cursor: Any,
    dialect: str,
    events: list[tuple[Any, ...]],
    history: list[tuple[Any, ...]],
) -> None:
    if dialect == "sqlite":
        cursor.execute("BEGIN")
        cursor.executemany(
            f"INSERT INTO ledger_events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 11)})", events
        )
        cursor.executemany(
            f"INSERT INTO deployment_history ({HISTORY_COLUMNS}) VALUES ({', '.join('?' * 7)})",
            history,
        )
        cursor.execute("COMMIT")
        return
    with cursor.copy(f"COPY ledger_events ({EVENT_COLUMNS}) FROM STDIN") as copy:
        for row in events:
            copy.write_row(row)
    with cursor.copy(f"COPY deployment_history ({HISTORY_COLUMNS}) FROM STDIN") as copy:
        for row in history:
            copy.write_row(row)
    raw.commit()


# --------------------------------------------------------------------- measuring
def fetch_only(engine: Engine, batch: int = 20_000) -> int:
    """Baseline: the rows ``verify`` reads, fetched the same way, without hashing."""
    raw = engine.raw_connection()
    count = 0
    try:
        cursor = raw.cursor()
        cursor.execute(SELECT_ALL)
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                break
            for _seq, _t, _a, _k, _m, _v, _p, _ph, _h in rows:
                count += 1
        cursor.close()
    finally:
        raw.close()
    return count


def bench_verify(engine: Engine, n_events: int, repeats: int, signers: Signers) -> dict[str, float]:
    fetch_runs: list[float] = []
    verify_runs: list[float] = []
    signed_runs: list[float] = []
    cpu: dict[str, list[float]] = {"fetch": [], "verify": [], "signed": []}
    head = ""
    signed = 0

    def on_cpu(what: str, run: Any) -> tuple[float, Any]:
        """Wall time and result, keeping the process's CPU time (what a free core would take)."""
        started = time.process_time()
        wall, result = timed(run)
        cpu[what].append(time.process_time() - started)
        return wall, result

    for _ in range(repeats):
        t_fetch, count = on_cpu("fetch", lambda: fetch_only(engine))
        t_verify, result = on_cpu("verify", lambda: verify(engine))
        t_signed, checked = on_cpu("signed", lambda: verify(engine, signers))
        if count != n_events or result.count != n_events or checked.count != n_events:
            raise SystemExit(
                f"expected {n_events} events, fetched {count}, verified {result.count}"
            )
        fetch_runs.append(t_fetch)
        verify_runs.append(t_verify)
        signed_runs.append(t_signed)
        head, signed = result.head_hash, checked.signed
    fetch, ver = median(fetch_runs), median(verify_runs)
    rate = n_events / ver
    print(f"## verify() over {n_events:,} events (head {head[:16]}…)")
    print(
        table(
            [
                "what",
                "median",
                "events/s",
                "events per CPU-second",
                f"runs (alternating, n={repeats})",
            ],
            [
                [
                    "fetch only (baseline)",
                    fmt_seconds(fetch),
                    f"{n_events / fetch:,.0f}",
                    f"{n_events / median(cpu['fetch']):,.0f}",
                    fmt_runs(fetch_runs),
                ],
                [
                    "ledger.verify(engine)",
                    fmt_seconds(ver),
                    f"{rate:,.0f}",
                    f"{n_events / median(cpu['verify']):,.0f}",
                    fmt_runs(verify_runs),
                ],
                [
                    f"verify(engine, signers): {signed:,} signatures",
                    fmt_seconds(median(signed_runs)),
                    f"{n_events / median(signed_runs):,.0f}",
                    f"{n_events / median(cpu['signed']):,.0f}",
                    fmt_runs(signed_runs),
                ],
            ],
        )
    )
    signed_rate = n_events / median(signed_runs)
    print(
        f"verify time / fetch time = {ver / fetch:.2f}× · verify {rate:,.0f} events/s "
        f"(target ≥ 100,000/s: {'met' if rate >= 100_000 else 'MISSED'})"
    )
    print(
        f"with signatures / chain only = {median(signed_runs) / ver:.2f}× · "
        f"{signed_rate:,.0f} events/s (target ≥ 50,000/s: "
        f"{'met' if signed_rate >= 50_000 else 'MISSED'})"
    )
    print()
    return {"fetch": fetch, "verify": ver, "rate": rate, "ratio": ver / fetch}


def _expected(promotions: dict[str, list[tuple[str, int, str]]], model: str, at: str) -> int | None:
    rows = promotions[model]
    index = bisect.bisect_right(rows, (at, 1 << 62, "")) - 1
    return rows[index][1] if index >= 0 else None


def bench_history(
    engine: Engine,
    registry: Registry,
    promotions: dict[str, list[tuple[str, int, str]]],
    n_events: int,
    queries: int,
    repeats: int,
) -> dict[str, float]:
    rng = random.Random(42)
    span = (STEP * (n_events + 10)).total_seconds()
    pairs = [
        (rng.choice(MODELS), START + timedelta(seconds=rng.uniform(-60, span)))
        for _ in range(queries)
    ]
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    raw_sql = (
        f"SELECT {HISTORY_COLUMNS} FROM deployment_history WHERE model_name = {mark} "
        f"AND at <= {mark} ORDER BY at DESC, seq DESC LIMIT 1"
    )
    api: list[float] = []
    base: list[float] = []
    wrong = 0
    raw = engine.raw_connection()
    try:
        for _ in range(repeats):
            cursor = raw.cursor()
            for model, moment in pairs:
                started = time.perf_counter()
                cursor.execute(raw_sql, (model, format_time(moment)))
                cursor.fetchone()
                base.append(time.perf_counter() - started)
            cursor.close()
            raw.commit()
            for model, moment in pairs:
                started = time.perf_counter()
                point = registry.history_at(model, moment)
                api.append(time.perf_counter() - started)
                if point.as_of_seq != _expected(promotions, model, format_time(moment)):
                    wrong += 1
    finally:
        raw.close()
    p50, p99 = percentile(api, 50), percentile(api, 99)
    b50, b99 = percentile(base, 50), percentile(base, 99)
    history_rows = sum(len(v) for v in promotions.values())
    print(
        f"## Registry.history_at over {n_events:,} events / {history_rows:,} history rows "
        f"({queries} random (model, time) × {repeats})"
    )
    print(
        table(
            ["what", "p50", "p99", "max"],
            [
                [
                    "raw indexed SELECT (baseline)",
                    fmt_seconds(b50),
                    fmt_seconds(b99),
                    fmt_seconds(max(base)),
                ],
                ["Registry.history_at", fmt_seconds(p50), fmt_seconds(p99), fmt_seconds(max(api))],
            ],
        )
    )
    print(
        f"history_at / raw SELECT (p50) = {p50 / b50:.1f}× · p99 {fmt_seconds(p99)} "
        f"(target < 50 ms: {'met' if p99 < 0.05 else 'MISSED'}) · wrong answers: {wrong}"
    )
    print()
    return {"p50": p50, "p99": p99, "raw_p50": b50, "wrong": float(wrong)}


def bench_approval(rounds: int = 300) -> None:
    """One signed approval judged (issue 14: verification ≤ 1 ms per approval); baseline:
    the bare ed25519 verify of the same bytes in the same run."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from safeship.access.signatures import DOMAIN, decode_token
    from safeship.params import AccessParams, TierPolicy
    from safeship.release.approvals import ApprovalInput, Subject, approval_statement, judge

    subject = Subject(
        run_id="r", model="m", version="1.0.0", artifact_hash="a" * 32, profile_hash="p" * 64
    )
    signers = parse_signers(f"alice {SIGNER.public.openssh()}\n")
    token = SIGNER.sign(
        statement("approval", "alice", **approval_statement(subject, "approve", ""))
    )
    submitted = ApprovalInput(approver="alice", signature=token)
    policy = TierPolicy(approvers=["alice"], approvals_required=1)
    body, signature, _ = decode_token(token)
    public = Ed25519PublicKey.from_public_bytes(SIGNER.public.raw)
    raw_runs: list[float] = []
    judge_runs: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        public.verify(signature, DOMAIN + body)
        raw_runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        verdict = judge(
            submitted,
            policy=policy,
            tier="high",
            author="dave",
            subject=subject,
            signers=signers,
            access=AccessParams(),
            approved_by={},
            seen=set(),
            now=datetime.now(UTC),
        )
        judge_runs.append(time.perf_counter() - started)
        if verdict.outcome != "accepted":
            raise SystemExit(f"approval not accepted: {verdict.reason}")
    raw50, judge50 = percentile(raw_runs, 50), percentile(judge_runs, 50)
    print(f"## one signed approval judged ({rounds} rounds, alternating)")
    print(
        table(
            ["what", "p50", "p99"],
            [
                [
                    "bare ed25519 verify (baseline)",
                    fmt_seconds(raw50),
                    fmt_seconds(percentile(raw_runs, 99)),
                ],
                [
                    "approvals.judge (signed)",
                    fmt_seconds(judge50),
                    fmt_seconds(percentile(judge_runs, 99)),
                ],
            ],
        )
    )
    print(
        f"judge / bare verify (p50) = {judge50 / raw50:.2f}× · judge p50 {fmt_seconds(judge50)} "
        f"(target ≤ 1 ms: {'met' if judge50 <= 0.001 else 'MISSED'})"
    )
    print()


# --------------------------------------------------------------------------- main
def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run(url: str, args: argparse.Namespace, scratch: Path) -> None:
    engine = make_engine(url)
    ensure_schema(engine)
    t_build, promotions = timed(lambda: build(engine, args.events, args.signed_every))
    print(
        f"(built {args.events:,} events + {sum(len(v) for v in promotions.values()):,} "
        f"deployment_history rows in {fmt_seconds(t_build)} on {engine.dialect.name})"
    )
    if engine.dialect.name == "sqlite":
        db_file = Path(url.split("///", 1)[1])
        size = sum(p.stat().st_size for p in db_file.parent.glob(db_file.name + "*"))
        print(f"(database files: {size / 2**20:,.0f} MiB)")
    print()
    bench_approval()
    rss_before = peak_rss_mib()
    signers = parse_signers(f"alice {SIGNER.public.openssh()}\n")
    bench_verify(engine, args.events, args.repeats, signers)
    rss_after = peak_rss_mib()
    print(
        f"(process peak RSS: {rss_before:,.0f} MiB after building, {rss_after:,.0f} MiB after "
        "the verify/fetch runs)\n"
    )
    registry = Registry(engine, Settings(project_root=scratch, state_dir=scratch, db_url=url))
    bench_history(engine, registry, promotions, args.events, args.queries, args.repeats)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200, help="history_at queries per round")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20k events, 2 repeats")
    parser.add_argument(
        "--signed-every",
        type=int,
        default=PROMOTE_EVERY,
        help="every Nth event carries a signature (1: all; 0: none)",
    )
    args = parser.parse_args()
    if args.quick:
        args.events, args.repeats = 20_000, 2

    backend = "PostgreSQL" if args.pg else "SQLite"
    header(f"bench_ledger — {args.events:,} events on {backend}, {args.repeats} repeats")
    scratch = Path(tempfile.mkdtemp(prefix="safeship-bench-ledger-", dir="/tmp"))
    try:
        if not args.pg:
            run(f"sqlite:///{scratch / 'registry.db'}", args, scratch)
            return
        base = os.environ.get("SAFESHIP_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
        schema = f"bench_ledger_{uuid.uuid4().hex[:10]}"
        admin = make_engine(base)
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            separator = "&" if "?" in base else "?"
            run(f"{base}{separator}options=-csearch_path%3D{schema}", args, scratch)
        finally:
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
