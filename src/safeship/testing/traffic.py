"""A traffic generator: real HTTP requests to the gateway at a set rate, for a set time.

``run_traffic(config)`` sends ``/v1/completions`` requests from ``users`` distinct callers
(``X-Safeship-User``, so the gateway's sticky canary buckets see many callers), cycling
through a prompt list, at ``rate`` requests per second for ``duration_s`` seconds (or
until ``max_requests`` or a stop event), with at most ``concurrency`` in flight. Every
request has a seed, so two versions answering one request (stable and its shadow) sample
alike. It returns a summary: sent, ok, errors, versions and roles seen, latency p50/p95.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safeship.errors import InputError

DEFAULT_PROMPTS = Path(__file__).parent / "prompts.txt"
DEFAULT_URL = "http://127.0.0.1:8700"


def load_prompts(path: Path | None = None) -> list[str]:
    """One prompt per line; blank lines and ``#`` comments skipped."""
    source = path or DEFAULT_PROMPTS
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"cannot read prompts from {source}: {error.strerror}") from error
    prompts = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not prompts:
        raise InputError(f"{source} holds no prompts (one per line)")
    return prompts


@dataclass
class TrafficConfig:
    model: str
    url: str = DEFAULT_URL
    rate: float = 10.0
    duration_s: float = 10.0
    prompts: list[str] = field(default_factory=list)
    users: int = 100
    max_requests: int | None = None
    concurrency: int = 16
    max_tokens: int = 32
    seed: int = 0
    timeout_s: float = 30.0
    user_prefix: str = "traffic-user"
    #: sent as ``Authorization: Bearer`` when the gateway requires keys
    api_key: str | None = field(default_factory=lambda: os.environ.get("SAFESHIP_API_KEY"))

    def check(self) -> None:
        if not 0 < self.rate <= 10_000:
            raise InputError(f"--rate {self.rate} is out of range: use (0, 10000] requests/s")
        if not 0 < self.duration_s <= 86_400:
            raise InputError(f"--duration {self.duration_s} is out of range: use (0, 86400] s")
        if self.users < 1:
            raise InputError(f"--users {self.users} must be at least 1")
        if self.max_requests is not None and self.max_requests < 0:
            raise InputError(f"max_requests {self.max_requests} must not be negative")


@dataclass
class TrafficSummary:
    sent: int = 0
    ok: int = 0
    errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)
    roles: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    def record(self, status: str, version: str | None, role: str | None, ms: float) -> None:
        """Count one answered (or failed) request."""
        self.statuses[status] += 1
        if status == "200":
            self.ok += 1
            self.latencies_ms.append(ms)
        else:
            self.errors += 1
        if version:
            self.versions[version] += 1
        if role:
            self.roles[role] += 1

    def as_dict(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)

        def pct(q: float) -> float | None:
            if not ordered:
                return None
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

        return {
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "statuses": dict(self.statuses),
            "versions": dict(self.versions),
            "roles": dict(self.roles),
            "latency_p50_ms": pct(0.50),
            "latency_p95_ms": pct(0.95),
            "elapsed_s": round(self.elapsed_s, 3),
            "achieved_rps": round(self.sent / self.elapsed_s, 2) if self.elapsed_s else 0.0,
        }


def _stopped_while_waiting(wait: float, stop: threading.Event | None) -> bool:
    """Sleep ``wait`` seconds (if positive); True when ``stop`` was set meanwhile."""
    if wait <= 0:
        return False
    if stop is not None:
        return stop.wait(wait)
    time.sleep(wait)
    return False


def run_traffic(config: TrafficConfig, stop: threading.Event | None = None) -> TrafficSummary:
    """Send the traffic (blocking) and summarise it."""
    import httpx

    config.check()
    prompts = config.prompts or load_prompts()
    rng = random.Random(config.seed)
    summary = TrafficSummary()
    lock = threading.Lock()
    slots = threading.BoundedSemaphore(config.concurrency)
    limits = httpx.Limits(max_connections=config.concurrency)
    auth = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    client = httpx.Client(base_url=config.url.rstrip("/"), timeout=config.timeout_s, limits=limits,
                          headers=auth)  # fmt: skip

    def send(index: int, prompt: str, user: str) -> None:
        began = time.perf_counter()
        status, version, role = "error", None, None
        try:
            response = client.post(
                "/v1/completions",
                json={"model": config.model, "prompt": prompt,
                      "max_tokens": config.max_tokens, "seed": config.seed + index},
                headers={"X-Safeship-User": user},
            )  # fmt: skip
            status = str(response.status_code)
            version = response.headers.get("X-Safeship-Version")
            role = response.headers.get("X-Safeship-Role")
        except httpx.HTTPError as error:
            status = type(error).__name__
        finally:
            slots.release()
        latency = (time.perf_counter() - began) * 1000
        with lock:
            summary.record(status, version, role, latency)

    started = time.monotonic()
    interval = 1.0 / config.rate
    try:
        with ThreadPoolExecutor(config.concurrency, "safeship-traffic") as pool:
            index = 0
            while True:
                if stop is not None and stop.is_set():
                    break
                if config.max_requests is not None and index >= config.max_requests:
                    break
                due = started + index * interval
                if due - started >= config.duration_s:
                    break
                if _stopped_while_waiting(due - time.monotonic(), stop):
                    break
                slots.acquire()  # bounded: never more than `concurrency` in flight
                user = f"{config.user_prefix}-{rng.randrange(config.users)}"
                pool.submit(send, index, prompts[index % len(prompts)], user)
                index += 1
                summary.sent = index
    finally:  # the pool has joined: every request answered or failed
        summary.elapsed_s = time.monotonic() - started
        client.close()
    return summary
