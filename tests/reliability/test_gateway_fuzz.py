"""A byte-level fuzzer against the real gateway process: invalid UTF-8, deep nesting, NaN,
huge and many messages, hostile model strings, random mutations of valid bodies.
No 5xx, no crash, bounded memory (RSS after <= 1.2x RSS before the fuzzing)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from safeship.registry.store import Registry
from safeship.testing.gateway import GatewayProcess, add_version, make_project, promote
from safeship.testing.ngram import train_ngram
from tests.reliability.report import SuiteResult, out_of_time, trials

VALID = {"model": "demo-chat", "prompt": "How do I boil an egg?", "max_tokens": 4}
CHAT = {"model": "demo-chat", "messages": [{"role": "user", "content": "Hi there"}]}
HOSTILE_MODELS = ["../../etc/passwd", "demo-chat@../../x", "\u202edemo", "demo\x00", "\ud800",
                  "a" * 5000, "demo-chat@", "@1.0.0", " demo-chat", "DEMO-CHAT", "", None, 7,
                  ["demo-chat"], {"$ne": 1}]  # fmt: skip


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _mutate(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        position = rng.randrange(len(data) + 1)
        if choice < 0.4 and data:
            data[min(position, len(data) - 1)] = rng.randrange(256)
        elif choice < 0.7:
            data[position:position] = rng.randbytes(rng.randint(1, 16))
        elif data:
            del data[position : position + rng.randint(1, 16)]
    return bytes(data)


def _cases(rng: random.Random) -> list[Callable[[], bytes]]:
    def dumps(value: object) -> bytes:
        return json.dumps(value).encode()

    return [
        lambda: _mutate(dumps(rng.choice([VALID, CHAT])), rng),
        lambda: dumps({**VALID, "model": rng.choice(HOSTILE_MODELS)}),
        lambda: dumps({**VALID, "prompt": rng.randbytes(64).decode("latin-1")}),
        lambda: b'{"model": "demo-chat", "prompt": "\\ud800\\udfff\\ud800", "user": "\\udc00"}',
        lambda: b'{"model": "demo-chat", "prompt": "' + rng.randbytes(32) + b'"}',
        lambda: b'{"model": "demo-chat", "x": ' + b"[" * rng.choice([999, 1000, 5000]) + b"]}",
        lambda: b'{"model": "demo-chat", "prompt": "a", "temperature": NaN}',
        lambda: b'{"model": "demo-chat", "prompt": "a", "max_tokens": -Infinity}',
        lambda: dumps({**CHAT, "messages": [{"role": "user", "content": "x"}] * 10_000}),
        lambda: dumps({**VALID, "prompt": "x" * rng.choice([10, 10_000, 200_000])}),
        lambda: dumps({**VALID, "max_tokens": rng.choice([0, -1, 10**20, "4", None, 1.5])}),
        lambda: dumps({**CHAT, "messages": rng.choice([[], {}, "hi", [None], [{"role": 1}]])}),
        lambda: rng.randbytes(rng.randint(0, 512)),
    ]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    root = tmp_path_factory.mktemp("fuzz")
    settings = make_project(root / "project")
    with Registry.open(settings) as registry:
        add_version(registry, "demo-chat", "1.0.0", train_ngram(root / "m" / "o3", 3))
        promote(registry, "demo-chat", "1.0.0")
    process = GatewayProcess(settings.project_root)
    yield process
    process.close()


def test_byte_level_fuzzing(gateway: GatewayProcess, result: SuiteResult) -> None:
    rng = random.Random("fuzz")
    cases = _cases(rng)
    paths = ["/v1/completions", "/v1/chat/completions"]
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        for _ in range(20):  # warm up: models loaded, pools and caches filled
            client.post("/v1/completions", json=VALID)
        before = _rss_kb(gateway.proc.pid)
        for i in range(trials(ci=300, full=7200)):
            if out_of_time():
                result.notes.append(f"stopped at the time budget after {result.trials} requests")
                break
            raw = rng.choice(cases)()
            path = paths[i % 2]
            try:
                status = client.post(path, content=raw,
                                     headers={"content-type": "application/json"}).status_code  # fmt: skip
            except httpx.HTTPError as error:
                result.failures += 1
                result.notes.append(f"{type(error).__name__} on {raw[:60]!r}")
                continue
            result.trials += 1
            if status >= 500:
                result.server_errors += 1
                result.notes.append(f"{status} on {raw[:80]!r}")
        assert client.post("/v1/completions", json=VALID).status_code == 200
        health = client.get("/healthz").json()
    after = _rss_kb(gateway.proc.pid)
    assert gateway.proc.poll() is None, "the gateway crashed"
    if after > 1.2 * before:
        result.invariant_violations += 1
        result.notes.append(f"RSS grew from {before} kB to {after} kB")
    result.notes.append(f"RSS {before} kB before, {after} kB after")
    assert health["status"] in ("ok", "degraded")
    assert result.server_errors == 0 and result.failures == 0, result.notes[:10]
    assert result.invariant_violations == 0, result.notes
