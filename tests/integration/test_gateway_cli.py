"""``safeship gateway --workers 2``: worker processes each follow the registry."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from safeship.registry.store import Registry
from safeship.testing.gateway import GatewayProcess, add_version, make_project, promote
from safeship.testing.ngram import train_ngram


def test_two_workers_follow_one_registry(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "project")
    registry = Registry.open(settings)
    add_version(registry, "demo-chat", "1.0.0", train_ngram(tmp_path / "m" / "o3", 3))
    add_version(registry, "demo-chat", "1.1.0", train_ngram(tmp_path / "m" / "o4", 4))
    promote(registry, "demo-chat", "1.0.0")
    gateway = GatewayProcess(settings.project_root, "--workers", "2", "--log-format", "json")
    try:
        replicas = set()
        for _ in range(40):  # a new connection each time: the kernel spreads them
            with httpx.Client(base_url=gateway.url, timeout=10) as client:
                replicas.add(client.get("/healthz").json()["replica"])
            if len(replicas) == 2:
                break
        assert len(replicas) == 2
        body = {"model": "demo-chat", "prompt": "How do I make rice?", "max_tokens": 4}
        assert (
            httpx.post(gateway.url + "/v1/completions", json=body).headers["x-safeship-version"]
            == "1.0.0"
        )
        promote(registry, "demo-chat", "1.1.0")
        # every worker follows the move (how fast is a benchmark, bench_gateway.py): wait
        # until 20 answers in a row, on new connections, all come from 1.1.0
        deadline = time.monotonic() + 30
        seen: set[str] = {"1.0.0"}
        while seen != {"1.1.0"} and time.monotonic() < deadline:
            time.sleep(0.5)
            seen = set()
            for _ in range(20):
                with httpx.Client(base_url=gateway.url, timeout=10) as client:
                    answer = client.post("/v1/completions", json=body)
                    seen.add(answer.headers["x-safeship-version"])
        assert seen == {"1.1.0"}
    finally:
        gateway.close()
        registry.close()
    lines = [line for line in gateway.log_path.read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert any(
        r.get("message") == "routing switched" and r.get("stable") == "1.1.0" for r in records
    )
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
