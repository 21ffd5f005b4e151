"""The openai adapter against a real HTTP server on a loopback port.

The fake server picks its behaviour from a marker in the prompt, so one batch can mix
prompts that succeed with prompts that fail in every way a real endpoint can.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safeship.errors import InputError
from safeship.models.base import GenerationRequest
from safeship.models.loader import load_generator
from safeship.models.openai_adapter import OpenAIGenerator, OpenAIOptions
from safeship.testing.upstream import FakeUpstream


@pytest.fixture()
def server() -> Iterator[FakeUpstream]:
    srv = FakeUpstream(echo="echo: ")
    yield srv
    srv.close()


def _generator(base_url: str, **options: Any) -> OpenAIGenerator:
    settings: dict[str, Any] = {
        "base_url": base_url,
        "model": "fake",
        "timeout_s": 5,
        "max_retries": 2,
        "backoff_s": 0.01,
        "concurrency": 4,
        **options,
    }
    return OpenAIGenerator(OpenAIOptions(**settings))


def test_loads_by_path_and_chats(
    server: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFESHIP_TEST_KEY", "sk-test-123")
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "adapter": "openai",
                "base_url": server.base_url + "/",
                "model": "fake",
                "api_key_env": "SAFESHIP_TEST_KEY",
                "mode": "chat",
            }
        )
    )
    gen = load_generator(tmp_path)
    try:
        request = GenerationRequest(
            max_new_tokens=7, temperature=0.5, seed=3, system_prompt="Be brief."
        )
        out = gen.generate(["hello there", "how are you"], request)
    finally:
        gen.close()
    assert [g.text for g in out] == ["echo: hello there", "echo: how are you"]
    assert all(g.ok and g.latency_s > 0 for g in out)
    assert out[0].prompt_tokens == 2 and out[0].completion_tokens == 3
    sent = server.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["auth"] == "Bearer sk-test-123"
    assert sent["body"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["body"]["max_tokens"] == 7 and sent["body"]["seed"] == 3
    assert sent["body"]["temperature"] == 0.5 and sent["body"]["model"] == "fake"


def test_completions_mode(server: FakeUpstream) -> None:
    gen = _generator(server.base_url, mode="completions")
    out = gen.generate(["say hi"], GenerationRequest(system_prompt="SYS"))
    gen.close()
    assert out[0].ok and out[0].text == "echo: SYS\n\nsay hi"
    assert server.requests[0]["path"] == "/v1/completions"
    assert server.requests[0]["auth"] is None


def test_every_failure_is_recorded_on_its_prompt_and_the_batch_goes_on(
    server: FakeUpstream,
) -> None:
    gen = _generator(server.base_url, timeout_s=0.4)
    url = server.base_url + "/chat/completions"
    prompts = [
        "ok1 first",
        "nonjson x",
        "error x",
        "error200 x",
        "shape x",
        "flaky-a x",
        "always500 x",
        "ratelimit-a x",
        "slow x",
        "drop x",
        "ok2 last",
    ]
    started = time.perf_counter()
    results = gen.generate(prompts, GenerationRequest())
    elapsed = time.perf_counter() - started
    gen.close()

    assert [g.prompt for g in results] == prompts
    out = {g.prompt.split()[0]: g for g in results}
    assert out["ok1"].ok and out["ok1"].text == "echo: ok1 first"
    assert out["ok2"].ok and out["ok2"].text == "echo: ok2 last"
    for key in ("nonjson", "error", "error200", "shape", "always500", "slow", "drop"):
        assert not out[key].ok, key
        assert url in (out[key].error or ""), out[key].error
        assert out[key].text == ""
    assert "not JSON" in (out["nonjson"].error or "")
    assert "invalid_request_error: model not found" in (out["error"].error or "")
    assert "HTTP 400" in (out["error"].error or "")
    assert "filter: content filtered" in (out["error200"].error or "")
    assert "unexpected response shape" in (out["shape"].error or "")
    assert "HTTP 500" in (out["always500"].error or "")
    assert "after 3 attempts" in (out["always500"].error or "")
    assert "timed out" in (out["slow"].error or "")
    assert "connection failed" in (out["drop"].error or "")
    # retried until it worked
    assert out["flaky-a"].ok and server.hits["flaky-a"] == 3
    assert out["ratelimit-a"].ok and server.hits["ratelimit-a"] == 2
    # not retried: a 4xx, a non-JSON body, a read timeout
    assert server.hits["error"] == 1 and server.hits["nonjson"] == 1 and server.hits["slow"] == 1
    assert server.hits["always500"] == 3
    assert elapsed < 5


def test_order_is_kept_and_the_last_prompt_still_succeeds(server: FakeUpstream) -> None:
    gen = _generator(server.base_url)
    prompts = ["error a", "ok b", "nonjson c", "ok d"]
    out = gen.generate(prompts, GenerationRequest())
    gen.close()
    assert [g.prompt for g in out] == prompts
    assert [g.ok for g in out] == [False, True, False, True]


def test_connection_refused_is_recorded_for_every_prompt() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/v1"
    gen = _generator(base_url, max_retries=1)
    out = gen.generate(["a", "b", "c"], GenerationRequest())
    gen.close()
    assert len(out) == 3
    for g in out:
        assert not g.ok
        assert f"{base_url}/chat/completions" in (g.error or "")
        assert "connection failed" in (g.error or "") and "after 2 attempts" in (g.error or "")


def test_concurrency_is_bounded(server: FakeUpstream) -> None:
    gen = _generator(server.base_url, concurrency=3)
    out = gen.generate([f"sleep {i}" for i in range(12)], GenerationRequest())
    gen.close()
    assert all(g.ok for g in out)
    assert [g.text for g in out] == [f"echo: sleep {i}" for i in range(12)]
    assert server.max_in_flight == 3


def test_closed_generator_records_errors(server: FakeUpstream) -> None:
    gen = _generator(server.base_url)
    gen.close()
    out = gen.generate(["ok"], GenerationRequest())
    assert not out[0].ok and "closed" in (out[0].error or "")


def test_invalid_request_is_refused(server: FakeUpstream) -> None:
    gen = _generator(server.base_url)
    with pytest.raises(InputError, match="max_new_tokens"):
        gen.generate(["x"], GenerationRequest(max_new_tokens=0))
    gen.close()
    assert server.requests == []


def test_concurrency_is_bounded_across_callers(server: FakeUpstream) -> None:
    gen = _generator(server.base_url, concurrency=2)
    threads = [
        threading.Thread(target=gen.generate, args=([f"sleep {i}"], GenerationRequest()))
        for i in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gen.close()
    assert len(server.requests) == 6
    assert server.max_in_flight == 2


def test_the_async_path_answers_like_the_thread_path(server: FakeUpstream) -> None:
    gen = _generator(server.base_url, concurrency=3)

    async def run() -> tuple[list[Any], list[Any]]:
        batch = await gen.agenerate([f"sleep {i}" for i in range(7)], GenerationRequest())
        one = await gen.agenerate(["[[fail]] x"], GenerationRequest())
        return batch, one

    batch, one = asyncio.run(run())
    gen.close()
    assert [g.text for g in batch] == [f"echo: sleep {i}" for i in range(7)]
    assert server.max_in_flight == 3
    assert not one[0].ok and "HTTP 400" in (one[0].error or "")


def test_one_bound_holds_across_threads_and_coroutines(server: FakeUpstream) -> None:
    gen = _generator(server.base_url, concurrency=2, max_queued=16)
    threads = [
        threading.Thread(target=gen.generate, args=([f"sleep t{i}"], GenerationRequest()))
        for i in range(4)
    ]

    async def run() -> list[list[Any]]:
        calls = [gen.agenerate([f"sleep a{i}"], GenerationRequest()) for i in range(4)]
        return list(await asyncio.gather(*calls))

    for thread in threads:
        thread.start()
    out = asyncio.run(run())
    for thread in threads:
        thread.join()
    gen.close()
    assert all(g[0].ok for g in out)
    assert len(server.requests) == 8
    assert server.max_in_flight == 2
