"""Rollback under load: production flips 20 times while a steady load runs.

The gateway runs as ``safeship gateway`` in a subprocess (its own interpreter, reading
``serving`` from the project's params.yaml); a loopback load generator sends a steady
stream of requests while production is flipped between two versions via the registry.
No request may fail, and every response to a request that started at least ``WINDOW_S``
after a switch completed (and finished before the next switch) must carry the new version,
in its header and in the request log. The measured follow lag is printed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from safeship.gateway.requestlog import RequestLog, default_url
from safeship.params import load_params
from safeship.registry.store import Registry
from safeship.testing.gateway import GatewayProcess, add_version, make_project, promote
from safeship.testing.ngram import train_ngram

MODEL = "flip-chat"
RATE = 60  # requests per second
FLIPS = 20
INTERVAL_S = 0.9  # between flips
WINDOW_S = 0.5  # follow window asserted (the measured lag is ~poll interval)
PARAMS = """
serving:
  poll_interval_ms: 100
  timeout_s: 5
  request_log:
    batch_size: 100
    flush_ms: 100
"""


@dataclass
class Sample:
    start: float
    end: float
    status: int
    version: str | None
    request_id: str | None


async def _load(url: str, stop: threading.Event, samples: list[Sample]) -> None:
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:

        async def one(i: int) -> None:
            start = time.monotonic()
            try:
                r = await client.post("/v1/completions", json={
                    "model": MODEL, "prompt": "How long should I boil pasta?",
                    "max_tokens": 8, "user": f"caller-{i % 50}",
                })  # fmt: skip
                samples.append(Sample(start, time.monotonic(), r.status_code,
                                      r.headers.get("x-safeship-version"),
                                      r.headers.get("x-request-id")))  # fmt: skip
            except httpx.HTTPError:
                samples.append(Sample(start, time.monotonic(), 0, None, None))

        tasks: list[asyncio.Task[None]] = []
        began = time.monotonic()
        i = 0
        while not stop.is_set():
            tasks.append(asyncio.create_task(one(i)))
            i += 1
            await asyncio.sleep(max(0.0, began + i / RATE - time.monotonic()))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_rollback_under_load(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "project")
    (settings.project_root / "params.yaml").write_text(PARAMS, encoding="utf-8")
    assert load_params(settings.project_root).serving.poll_interval_ms == 100
    registry = Registry.open(settings)
    add_version(registry, MODEL, "1.0.0", train_ngram(tmp_path / "m" / "o3", 3))
    add_version(registry, MODEL, "1.1.0", train_ngram(tmp_path / "m" / "o4", 4))
    promote(registry, MODEL, "1.0.0")
    gateway = GatewayProcess(settings.project_root, "--log-level", "warning")
    switches: list[tuple[float, str]] = []
    samples: list[Sample] = []
    stop = threading.Event()
    try:
        loader = threading.Thread(target=lambda: asyncio.run(_load(gateway.url, stop, samples)))
        loader.start()
        time.sleep(1.0)
        for n in range(FLIPS):
            version = "1.1.0" if n % 2 == 0 else "1.0.0"
            promote(registry, MODEL, version)
            switches.append((time.monotonic(), version))
            time.sleep(INTERVAL_S)
        stop.set()
        loader.join(timeout=60)
        assert not loader.is_alive()
    finally:
        stop.set()
        gateway.close()  # flushes the request log

    failed = [s for s in samples if s.status != 200]
    assert not failed, f"{len(failed)} of {len(samples)} requests failed"
    # enough traffic crossed every flip to mean something (the client slows on a busy
    # machine; throughput itself is a benchmark, not this test's business)
    assert len(samples) >= RATE * FLIPS * INTERVAL_S * 0.3

    lags: list[float] = []
    checked = 0
    bounds = [*switches, (float("inf"), "")]
    for (at, version), (next_at, _) in zip(bounds, bounds[1:], strict=False):
        window = [s for s in samples if at <= s.start and s.end < next_at]
        old = [s.start - at for s in window if s.version != version]
        lags.append(max(old, default=0.0))
        after = [s for s in window if s.start >= at + WINDOW_S]
        assert after, "no request fell in the checked part of a switch interval"
        assert all(s.version == version for s in after), (version, [s.version for s in after])
        checked += len(after)
    print(f"\n{len(samples)} requests, {checked} checked after switches; follow lag "
          f"max {max(lags) * 1000:.0f} ms, mean {sum(lags) / len(lags) * 1000:.0f} ms")  # fmt: skip
    assert max(lags) <= 1.0

    log = RequestLog(default_url(settings))
    try:
        frame = log.query(MODEL, role="stable")
    finally:
        log.close()
    logged = dict(zip(frame["request_id"], frame["version"], strict=True))
    assert all(logged.get(s.request_id) == s.version for s in samples)
    registry.close()
