"""The openai adapter against a real HTTP server on a loopback port.

The fake server picks its behaviour from a marker in the prompt, so one batch can mix
prompts that succeed with prompts that fail in every way a real endpoint can.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from safeship.errors import InputError
from safeship.models.base import GenerationRequest
from safeship.models.loader import load_generator
from safeship.models.openai_adapter import OpenAIGenerator, OpenAIOptions


class FakeOpenAI(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: FakeOpenAI

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        with server.lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            server.requests.append(
                {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
            )
        try:
            self._respond(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)
        finally:
            with server.lock:
                server.in_flight -= 1

    def _respond(self, body: dict[str, Any]) -> None:
        chat = self.path.endswith("/chat/completions")
        prompt = body["messages"][-1]["content"] if chat else body["prompt"]
        key = prompt.split()[0]
        with self.server.lock:
            self.server.hits[key] += 1
            hits = self.server.hits[key]
        if key == "nonjson":
            return self._send(200, b"<html><body>Bad gateway page</body></html>", "text/html")
        if key == "error":
            return self._json(
                400, {"error": {"message": "model not found", "type": "invalid_request_error"}}
            )
        if key == "error200":
            return self._json(200, {"error": {"message": "content filtered", "code": "filter"}})
        if key == "shape":
            return self._json(200, {"id": "x", "object": "chat.completion"})
        if key.startswith("flaky") and hits <= 2:
            return self._json(500, {"error": {"message": "upstream hiccup", "type": "server"}})
        if key == "always500":
            return self._send(500, b"Internal Server Error", "text/plain")
        if key.startswith("ratelimit") and hits == 1:
            return self._json(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        if key == "slow":
            time.sleep(1.5)
        if key == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if key == "sleep":
            time.sleep(0.1)
        text = f"echo: {prompt}"
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
        choice: dict[str, Any] = (
            {"index": 0, "message": {"role": "assistant", "content": text}}
            if chat
            else {"index": 0, "text": text}
        )
        return self._json(200, {"choices": [choice], "usage": usage})


@pytest.fixture()
def server() -> Iterator[FakeOpenAI]:
    srv = FakeOpenAI()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


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
    server: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
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


def test_completions_mode(server: FakeOpenAI) -> None:
    gen = _generator(server.base_url, mode="completions")
    out = gen.generate(["say hi"], GenerationRequest(system_prompt="SYS"))
    gen.close()
    assert out[0].ok and out[0].text == "echo: SYS\n\nsay hi"
    assert server.requests[0]["path"] == "/v1/completions"
    assert server.requests[0]["auth"] is None


def test_every_failure_is_recorded_on_its_prompt_and_the_batch_goes_on(
    server: FakeOpenAI,
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


def test_order_is_kept_and_the_last_prompt_still_succeeds(server: FakeOpenAI) -> None:
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


def test_concurrency_is_bounded(server: FakeOpenAI) -> None:
    gen = _generator(server.base_url, concurrency=3)
    out = gen.generate([f"sleep {i}" for i in range(12)], GenerationRequest())
    gen.close()
    assert all(g.ok for g in out)
    assert [g.text for g in out] == [f"echo: sleep {i}" for i in range(12)]
    assert server.max_in_flight == 3


def test_closed_generator_records_errors(server: FakeOpenAI) -> None:
    gen = _generator(server.base_url)
    gen.close()
    out = gen.generate(["ok"], GenerationRequest())
    assert not out[0].ok and "closed" in (out[0].error or "")


def test_invalid_request_is_refused(server: FakeOpenAI) -> None:
    gen = _generator(server.base_url)
    with pytest.raises(InputError, match="max_new_tokens"):
        gen.generate(["x"], GenerationRequest(max_new_tokens=0))
    gen.close()
    assert server.requests == []


def test_concurrency_is_bounded_across_callers(server: FakeOpenAI) -> None:
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
