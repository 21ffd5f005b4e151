"""One bad upstream must not starve the others: bounded slots and whole-request deadlines."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from safeship.models.base import Generation, GenerationRequest
from safeship.models.openai_adapter import OpenAIGenerator, OpenAIOptions
from safeship.registry.store import Registry
from safeship.testing.gateway import (
    GatewayServer,
    add_version,
    make_project,
    promote,
    serving_params,
)
from safeship.testing.ngram import train_ngram
from safeship.testing.upstream import FakeUpstream, openai_candidate_dir


class Trickler:
    """A raw HTTP upstream that sends its reply one byte every ``gap_s`` seconds."""

    def __init__(self, gap_s: float = 0.1, *, headers_too: bool = False) -> None:
        self.gap_s, self.headers_too = gap_s, headers_too
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed_after: list[float] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._reply, args=(conn,), daemon=True).start()

    def _reply(self, conn: socket.socket) -> None:
        started = time.monotonic()
        conn.recv(65536)
        body = json.dumps({"choices": [{"text": "x" * 400, "index": 0}]}).encode()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        reply = head % len(body) + body
        try:
            if not self.headers_too:
                split = reply.index(b"\r\n\r\n") + 4
                conn.sendall(reply[:split])
                reply = reply[split:]
            for i in range(len(reply)):
                conn.sendall(reply[i : i + 1])
                time.sleep(self.gap_s)
        except OSError:
            self.closed_after.append(time.monotonic() - started)
        finally:
            conn.close()

    def close(self) -> None:
        self.listener.close()


@pytest.mark.parametrize("headers_too", [False, True])
def test_a_trickling_upstream_is_cut_at_the_deadline(headers_too: bool) -> None:
    upstream = Trickler(gap_s=0.1, headers_too=headers_too)
    options = OpenAIOptions(
        base_url=f"http://127.0.0.1:{upstream.port}/v1", model="m", mode="completions",
        timeout_s=1.0, max_retries=0,
    )  # fmt: skip
    generator = OpenAIGenerator(options)
    try:
        started = time.monotonic()
        [result] = generator.generate(["hi"], GenerationRequest(max_new_tokens=4))
        elapsed = time.monotonic() - started
    finally:
        generator.close()
        upstream.close()
    assert result.error is not None and "deadline" in result.error
    assert elapsed < 2.5, elapsed  # a 40 s trickle, cut after about 1 s
    deadline = time.monotonic() + 5
    while not upstream.closed_after and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.closed_after and upstream.closed_after[0] < 3.0  # the connection is gone


def test_callers_beyond_the_queue_are_refused_at_once() -> None:
    upstream = FakeUpstream(slow_s=3.0, echo="upstream says: ")
    options = OpenAIOptions(
        base_url=upstream.url(), model="m", mode="completions", timeout_s=8.0,
        max_retries=0, concurrency=1, max_queued=1,
    )  # fmt: skip
    generator = OpenAIGenerator(options)
    try:
        with ThreadPoolExecutor(4) as pool:
            futures = [
                pool.submit(generator.generate, ["[[hang]]"], GenerationRequest(max_new_tokens=2))
                for _ in range(4)
            ]
            time.sleep(0.5)
            done = [f for f in futures if f.done()]
            refused = [f.result() for f in done]
            rest = [f.result() for f in futures if f not in done]
        assert len(refused) == 2 and all("saturated" in (r[0].error or "") for r in refused)
        assert all(r[0].ok for r in rest)
    finally:
        generator.close()
        upstream.close()


@pytest.fixture
def two_models(tmp_path: Path) -> Iterator[tuple[GatewayServer, FakeUpstream]]:
    upstream = FakeUpstream(slow_s=30.0, echo="upstream says: ")
    settings = make_project(tmp_path / "project")
    with Registry.open(settings) as registry:
        add_version(registry, "demo-chat", "1.0.0", train_ngram(tmp_path / "m" / "o3", 3))
        hanging = openai_candidate_dir(
            tmp_path / "m" / "up", upstream.url(), timeout_s=1.5, concurrency=2, max_queued=2
        )
        add_version(registry, "up-chat", "1.0.0", hanging)
        promote(registry, "demo-chat", "1.0.0")
        promote(registry, "up-chat", "1.0.0")
    server = GatewayServer(settings, serving_params(timeout_s=3.0, generation_threads=8))
    server.wait_for("demo-chat", "1.0.0")
    server.wait_for("up-chat", "1.0.0")
    yield server, upstream
    server.close()
    upstream.close()


def test_a_hanging_upstream_does_not_starve_another_model(
    two_models: tuple[GatewayServer, FakeUpstream],
) -> None:
    gateway, _ = two_models
    stop = threading.Event()
    hanging_statuses: list[int] = []

    def flood() -> None:
        with httpx.Client(base_url=gateway.url, timeout=20) as client:
            while not stop.is_set():
                body = {"model": "up-chat", "prompt": "[[hang]]", "max_tokens": 2}
                hanging_statuses.append(client.post("/v1/completions", json=body).status_code)

    flooders = [threading.Thread(target=flood) for _ in range(12)]
    for thread in flooders:
        thread.start()
    try:
        time.sleep(0.5)
        statuses = [gateway.complete("demo-chat", max_tokens=3).status_code for _ in range(30)]
    finally:
        stop.set()
        for thread in flooders:
            thread.join(timeout=30)
    assert statuses == [200] * 30
    assert hanging_statuses and all(s in (502, 503, 504) for s in hanging_statuses)


def test_the_async_path_cuts_a_trickle_and_refuses_past_the_queue() -> None:
    trickler = Trickler(gap_s=0.1)
    options = OpenAIOptions(
        base_url=f"http://127.0.0.1:{trickler.port}/v1", model="m", mode="completions",
        timeout_s=1.0, max_retries=0, concurrency=1, max_queued=1,
    )  # fmt: skip
    generator = OpenAIGenerator(options)

    async def run() -> tuple[list[list[Generation]], float]:
        started = time.monotonic()
        calls = [generator.agenerate(["hi"], GenerationRequest(max_new_tokens=4)) for _ in range(3)]
        return list(await asyncio.gather(*calls)), time.monotonic() - started

    try:
        results, elapsed = asyncio.run(run())
    finally:
        generator.close()
        trickler.close()
    errors = sorted(r[0].error or "" for r in results)
    assert sum("saturated" in e for e in errors) == 1  # the third caller: refused at once
    assert sum("deadline" in e for e in errors) == 2  # held, then queued: both cut at 1 s
    assert elapsed < 2.5, elapsed
