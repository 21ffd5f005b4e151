"""The serving gateway: added latency, throughput with and without the request log, and
time-to-revert after a rollback. Ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_gateway.py [--requests 300] [--seconds 5] [--trials 50]
        [--quick]

Everything runs on this machine (2 shared cores): the gateway is ``safeship gateway`` in a
subprocess with one worker, in a throw-away project holding two versions of the demo
n-gram model; the load generator is this process. Asserts nothing.

* Added latency: serial requests through the gateway vs calling the same adapter in
  process (``generator.generate``), p50 and p99.
* Throughput: requests/s at 16 concurrent callers with the request log off, batched (the
  default: a writer thread commits every 200 records or 200 ms) and committing every
  record (``batch_size: 1``). Plus the request-log costs per record in isolation: the hot
  path's ``submit`` vs a synchronous insert-and-commit per record vs a batched commit.
* Over a fast loopback upstream (benchmarks/_fast_upstream.py, the ``openai`` adapter):
  added latency and 16-caller throughput against calling the upstream directly (with
  ``wrk`` as the load generator when it is installed, else the Python client), and the
  API-key check (gateway with keys on vs ``--no-auth``), alternating in the same run.
* Time-to-revert: from ``registry.rollback(...)`` returning to the first response served
  by the old version (a client polling serially), over ``--trials`` rollbacks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_seconds, header, percentile, table, two_version_project  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL = "bench-chat"
REMOTE = "bench-remote"
PROMPT = "How do I make a simple tomato soup?"
BODY = {"model": MODEL, "prompt": PROMPT, "max_tokens": 16, "seed": 1}
PARAMS = """serving:
  poll_interval_ms: {poll}
  request_log:
    enabled: true
    batch_size: {batch}
    flush_ms: 200
"""


def _setup(base: Path) -> tuple[Any, Any]:
    return two_version_project(base, MODEL)


def _register_remote(registry: Any, base: Path, upstream_url: str) -> None:
    """``bench-remote@1.0.0``: the ``openai`` adapter calling the fast loopback upstream."""
    from safeship.registry.registration import register
    from safeship.testing.upstream import openai_candidate_dir

    folder = openai_candidate_dir(base / "remote", upstream_url + "/v1")
    register(registry, model=REMOTE, path=folder, version="1.0.0", author="bench")
    for status in ("validated", "gated", "approved"):
        registry.move_status(REMOTE, "1.0.0", status, actor="bench")
    registry.promote(REMOTE, "1.0.0", actor="bench", force=True, reason="bench")


class Upstream:
    """benchmarks/_fast_upstream.py in a subprocess on a free port."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        script = Path(__file__).resolve().parent / "_fast_upstream.py"
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_until(
                lambda: httpx.post(self.url + "/v1/completions", json={}, timeout=2), self.proc
            )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(probe: Any, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if probe().status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args!r} did not start")
        time.sleep(0.1)


class Gateway:
    def __init__(
        self,
        root: Path,
        *args: str,
        batch: int = 200,
        poll: int = 150,
        extra_env: dict[str, str] | None = None,
        auth: bool = False,
    ) -> None:
        (root / "params.yaml").write_text(PARAMS.format(batch=batch, poll=poll), encoding="utf-8")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("SAFESHIP_HOME", "SAFESHIP_DB_URL")}
        env.update(extra_env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "safeship", "gateway", "--port", str(self.port),
             "--log-level", "warning", *args, *([] if auth else ["--no-auth"])],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_until(lambda: httpx.get(self.url + "/healthz", timeout=2), self.proc)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _pcts(values: list[float]) -> tuple[float, float]:
    return percentile(values, 50), percentile(values, 99)


def bench_latency(settings: Any, registry: Any, n: int) -> list[list[str]]:
    from safeship.models.base import GenerationRequest
    from safeship.models.loader import load_generator
    from safeship.registry.registration import artifact_dir

    generator = load_generator(artifact_dir(registry, registry.version(MODEL, "1.0.0")))
    request = GenerationRequest(max_new_tokens=16, seed=1)
    direct: list[float] = []
    for _ in range(n):
        started = time.perf_counter()
        generator.generate([PROMPT], request)
        direct.append(time.perf_counter() - started)
    gateway = Gateway(settings.project_root)
    through: list[float] = []
    try:
        with httpx.Client(base_url=gateway.url, timeout=10) as client:
            for _ in range(20):
                client.post("/v1/completions", json=BODY)
            for _ in range(n):
                started = time.perf_counter()
                client.post("/v1/completions", json=BODY).raise_for_status()
                through.append(time.perf_counter() - started)
    finally:
        gateway.close()
    (d50, d99), (g50, g99) = _pcts(direct), _pcts(through)
    return [
        ["adapter in process", fmt_seconds(d50), fmt_seconds(d99), "1.00x"],
        [
            "through the gateway (HTTP, log on)",
            fmt_seconds(g50),
            fmt_seconds(g99),
            f"{g50 / d50:.1f}x",
        ],
        ["added by the gateway", fmt_seconds(g50 - d50), fmt_seconds(g99 - d99), "-"],
    ]


async def _drive(
    url: str,
    seconds: float,
    concurrency: int,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    body = body or BODY
    async with httpx.AsyncClient(
        base_url=url, timeout=30, limits=limits, headers=headers
    ) as client:
        done = 0
        failed = 0
        stop_at = time.monotonic() + 1.0  # warm-up, not counted

        async def worker() -> None:
            nonlocal done, failed
            while time.monotonic() < stop_at:
                r = await client.post("/v1/completions", json=body)
                if r.status_code == 200 and counting:
                    done += 1
                elif r.status_code != 200:
                    failed += 1

        counting = False
        tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
        await asyncio.sleep(1.0)
        counting, done = True, 0
        started = time.monotonic()
        stop_at = started + seconds
        await asyncio.gather(*tasks)
        if failed:
            print(f"warning: {failed} failed requests", file=sys.stderr)
        return done / (time.monotonic() - started)


def bench_throughput(settings: Any, seconds: float, rounds: int) -> list[list[str]]:
    modes = {"request log off": (["--no-request-log"], 200),
             "request log, batched (default)": ([], 200),
             "request log, a commit per record": ([], 1)}  # fmt: skip
    names = list(modes)
    results: dict[str, list[float]] = {name: [] for name in modes}
    ratios: dict[str, list[float]] = {name: [] for name in modes}
    for n in range(rounds):
        order = names[n % 3 :] + names[: n % 3]  # rotate, so drift hits every mode alike
        for name in order:
            args, batch = modes[name]
            gateway = Gateway(settings.project_root, *args, batch=batch)
            try:
                results[name].append(_rate(gateway.url, seconds, 16, BODY))
            finally:
                gateway.close()
        for name in names:
            ratios[name].append(results[name][-1] / results["request log off"][-1])
    return [
        [name, f"{statistics.median(v):.0f}", ", ".join(f"{x:.0f}" for x in v),
         f"{statistics.median(ratios[name]):.2f}x"]
        for name, v in results.items()
    ]  # fmt: skip


WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{body}]]
"""


def _drive_wrk(url: str, seconds: float, concurrency: int, body: dict[str, Any]) -> float | None:
    """Requests/s from ``wrk`` (a C load generator: the Python client saturates long before
    the gateway does on 2 cores), or None when wrk is not installed (apt-get install wrk)."""
    import json
    import re
    import shutil

    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(body)))
    try:
        out = subprocess.run(
            [wrk, "-t", "1", "-c", str(concurrency), "-d", f"{max(1, round(seconds))}s",
             "-s", script.name, url + "/v1/completions"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    if "Non-2xx" in out:
        print(f"warning: wrk saw failed requests: {out}", file=sys.stderr)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(match.group(1)) if match else None


def _rate(url: str, seconds: float, concurrency: int, body: dict[str, Any]) -> float:
    found = _drive_wrk(url, seconds, concurrency, body)
    return found if found is not None else asyncio.run(_drive(url, seconds, concurrency, body))


def _serial(url: str, n: int, body: dict[str, Any], headers: dict[str, str]) -> list[float]:
    out: list[float] = []
    with httpx.Client(base_url=url, timeout=10, headers=headers) as client:
        for _ in range(min(50, n)):
            client.post("/v1/completions", json=body).raise_for_status()
        for _ in range(n):
            started = time.perf_counter()
            client.post("/v1/completions", json=body).raise_for_status()
            out.append(time.perf_counter() - started)
    return out


def bench_remote(
    settings: Any,
    upstream: Upstream,
    n: int,
    seconds: float,
    rounds: int,
    baseline_src: str | None = None,
) -> tuple[list[list[str]], list[list[str]]]:
    """The ``openai`` adapter against the fast upstream: added latency and throughput,
    each against the bare upstream in the same round (alternating). With
    ``baseline_src`` (another checkout's ``src``), a second gateway runs that code
    alongside, for a before/after pair in the same run."""
    body = {**BODY, "model": REMOTE}
    gateways = {"gateway": Gateway(settings.project_root)}
    if baseline_src:
        env = {"PYTHONPATH": baseline_src}
        gateways["baseline"] = Gateway(settings.project_root, extra_env=env)
    lat: dict[str, list[float]] = {"bare": [], **{name: [] for name in gateways}}
    rate: dict[str, list[float]] = {"bare": [], **{name: [] for name in gateways}}
    cpu: dict[str, list[float]] = {name: [] for name in gateways}  # CPU seconds per request
    try:
        for _ in range(rounds):
            lat["bare"] += _serial(upstream.url, n, body, {})
            for name, gateway in gateways.items():
                lat[name] += _serial(gateway.url, n, body, {})
            rate["bare"].append(_rate(upstream.url, seconds, 16, body))
            for name, gateway in gateways.items():
                used = _cpu_s(gateway.proc.pid)
                rate[name].append(_rate(gateway.url, seconds, 16, body))
                cpu[name].append((_cpu_s(gateway.proc.pid) - used) / (rate[name][-1] * seconds))
    finally:
        for gateway in gateways.values():
            gateway.close()
    b50, b99 = _pcts(lat["bare"])
    bare = statistics.median(rate["bare"])
    latency_rows = [["bare upstream (HTTP)", fmt_seconds(b50), fmt_seconds(b99), "1.00x"]]
    rate_rows = [["bare upstream", f"{bare:.0f}", _runs(rate["bare"]), "1.00x"]]
    for name in gateways:
        g50, g99 = _pcts(lat[name])
        label = "through the gateway" if name == "gateway" else f"through the {name} gateway"
        latency_rows += [
            [f"{label} (openai adapter)", fmt_seconds(g50), fmt_seconds(g99), f"{g50 / b50:.1f}x"],
            [f"added by the {name} (target p50 <= 1 ms, p99 <= 5 ms)", fmt_seconds(g50 - b50),
             fmt_seconds(g99 - b99), "-"],
        ]  # fmt: skip
        through = statistics.median(rate[name])
        rate_rows.append([f"{label}, 1 worker (target >= 2,000)", f"{through:.0f}",
                          _runs(rate[name]), f"{through / bare:.2f}x"])  # fmt: skip
        per = statistics.median(cpu[name])
        rate_rows.append([f"  {name} process CPU per request (-> req/s per busy core)",
                          fmt_seconds(per), f"{1 / per:.0f} req/s per core", "-"])  # fmt: skip
    return latency_rows, rate_rows


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc): what a request costs
    the gateway, independent of how many other jobs share the cores."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _runs(values: list[float]) -> str:
    return ", ".join(f"{x:.0f}" for x in values)


def bench_auth(settings: Any, registry: Any, n: int, rounds: int) -> list[list[str]]:
    """Serial requests with API keys on and off, alternating gateways round by round."""
    from safeship.registry.apikeys import KeyStore

    store = KeyStore(registry)
    name = f"bench-{int(time.time() * 1000)}"
    secret = store.create(name, actor="bench")[1]
    body = {**BODY, "model": REMOTE}
    on = Gateway(settings.project_root, auth=True)
    off = Gateway(settings.project_root)
    times: dict[str, list[float]] = {"off": [], "on": []}
    try:
        for _ in range(rounds):
            times["off"] += _serial(off.url, n, body, {})
            times["on"] += _serial(on.url, n, body, {"Authorization": f"Bearer {secret}"})
    finally:
        on.close()
        off.close()
        store.revoke(name, actor="bench")
    (f50, f99), (n50, n99) = _pcts(times["off"]), _pcts(times["on"])
    return [
        ["auth off (--no-auth)", fmt_seconds(f50), fmt_seconds(f99), "1.00x"],
        ["auth on (Bearer key)", fmt_seconds(n50), fmt_seconds(n99), f"{n50 / f50:.2f}x"],
        ["added by the key check (target p50 <= 0.2 ms)", fmt_seconds(n50 - f50),
         fmt_seconds(n99 - f99), "-"],
    ]  # fmt: skip


def bench_log_costs(base: Path, n: int) -> list[list[str]]:
    from safeship.gateway.requestlog import RequestLog, RequestRecord

    def record(i: int) -> RequestRecord:
        return RequestRecord(request_id=f"r{i}", ts=time.time(), model=MODEL, version="1.0.0",
                             role="stable", endpoint="completions", user_hash="h", prompt=PROMPT,
                             output="some output text " * 4, latency_ms=2.0, status=200,
                             prompt_tokens=9, completion_tokens=16)  # fmt: skip

    rows: list[list[str]] = []
    log = RequestLog(f"sqlite:///{base / 'costs-sync.db'}")
    started = time.perf_counter()
    for i in range(n):
        log.write([record(i)])  # what a synchronous hot path would pay
    per_commit = (time.perf_counter() - started) / n
    log.close()
    log = RequestLog(f"sqlite:///{base / 'costs-batch.db'}")
    records = [record(i) for i in range(n)]
    started = time.perf_counter()
    for i in range(0, n, 200):
        log.write(records[i : i + 200])
    batched = (time.perf_counter() - started) / n
    log.close()
    log = RequestLog(f"sqlite:///{base / 'costs-submit.db'}", queue_size=n + 1)
    started = time.perf_counter()
    for r in records:
        log.submit(r)
    submit = (time.perf_counter() - started) / n
    log.close()
    rows.append(["hot path: submit() to the writer's queue", fmt_seconds(submit), "1.0x"])
    rows.append(
        [
            "insert + commit per record (synchronous)",
            fmt_seconds(per_commit),
            f"{per_commit / submit:.0f}x",
        ]
    )
    rows.append(
        ["insert, one commit per 200 records", fmt_seconds(batched), f"{batched / submit:.1f}x"]
    )
    return rows


def bench_revert(settings: Any, registry: Any, trials: int) -> list[list[str]]:
    """A rollback rejects the version it leaves, so every trial promotes a fresh version
    (1.1.0's training folder registered again) before timing the rollback to 1.0.0."""
    from safeship.registry.registration import register

    files = settings.project_root.parent / "o4"  # where two_version_project trained 1.1.0
    gateway = Gateway(settings.project_root)
    times: list[float] = []
    try:
        with httpx.Client(base_url=gateway.url, timeout=10) as client:

            def serving() -> str:
                return client.post("/v1/completions", json={**BODY, "max_tokens": 2}).headers[
                    "x-safeship-version"
                ]

            for trial in range(trials):
                version = f"1.2.{trial}"
                register(registry, model=MODEL, path=files, version=version, author="bench")
                for status in ("validated", "gated", "approved"):
                    registry.move_status(MODEL, version, status, actor="bench")
                registry.promote(MODEL, version, actor="bench", force=True, reason="bench")
                while serving() != version:
                    pass
                registry.rollback(MODEL, actor="bench", reason="bench", to="1.0.0")
                reverted = time.perf_counter()
                while serving() != "1.0.0":
                    pass
                times.append(time.perf_counter() - reverted)
    finally:
        gateway.close()
    p50, p99 = _pcts(times)
    return [[str(trials), fmt_seconds(p50), fmt_seconds(p99), fmt_seconds(max(times)), "150 ms"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="smoke run: small counts")
    parser.add_argument(
        "--baseline-src",
        help="another checkout's src folder (e.g. `git archive main src`): its gateway runs "
        "alongside over the fast upstream, for a before/after pair in the same run",
    )
    parser.add_argument(
        "--remote-only", action="store_true", help="only the fast-upstream and API-key parts"
    )
    args = parser.parse_args()
    if args.quick:
        args.requests, args.seconds, args.rounds, args.trials = 40, 1.0, 1, 3
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    header("safeship gateway")
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        base = Path(tmp)
        settings, registry = _setup(base)
        upstream = Upstream()
        try:
            _register_remote(registry, base, upstream.url)
            latency_rows, rate_rows = bench_remote(
                settings, upstream, args.requests, args.seconds, args.rounds, args.baseline_src
            )
            auth_rows = bench_auth(settings, registry, args.requests, args.rounds)
        finally:
            upstream.close()
        print("## Added latency over a fast loopback upstream (serial requests)\n")
        print(table(["path", "p50", "p99", "p50 ratio"], latency_rows))
        print(f"\n## Throughput over the same upstream (16 callers, {args.seconds:g} s rounds)\n")
        print(table(["path", "req/s (median)", "runs", "vs bare"], rate_rows))
        print("\n## API-key check (serial, same upstream, one gateway each, alternating)\n")
        print(table(["gateway", "p50", "p99", "p50 ratio"], auth_rows))
        print()
        if args.remote_only:
            registry.close()
            return 0
        print("## Added latency over the n-gram adapter in process (serial, 16 tokens)\n")
        print(
            table(
                ["path", "p50", "p99", "p50 ratio"],
                bench_latency(settings, registry, args.requests),
            )
        )
        print(
            f"\n## Throughput (16 concurrent callers, {args.seconds:g} s x {args.rounds} rounds)\n"
        )
        print(
            table(
                ["mode", "req/s (median)", "runs", "vs off (median of per-round ratios)"],
                bench_throughput(settings, args.seconds, args.rounds),
            )
        )
        print("\n## Request-log cost per record\n")
        print(table(["operation", "per record", "vs submit"], bench_log_costs(base, 2000)))
        print("\n## Time-to-revert (rollback returned -> first response from the old version)\n")
        print(
            table(
                ["trials", "p50", "p99", "max", "poll interval"],
                bench_revert(settings, registry, args.trials),
            )
        )
        registry.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
