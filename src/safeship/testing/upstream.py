"""One loopback OpenAI-compatible upstream with controllable faults, for drills, tests and
benchmarks (``/v1/completions`` and ``/v1/chat/completions`` on a free 127.0.0.1 port).

Faults, all optional and combinable:

* shares of requests: ``error_rate`` (HTTP 500) and ``toxic_rate`` (an insult with a planted
  e-mail address and phone number); every ``round(1/rate)``-th request carries the fault;
* ``latency_s`` before every answer; ``slow_s`` for a prompt holding ``[[hang]]`` or a
  request under the ``/slow`` path prefix;
* scripted by the prompt's first word (the adapter's error handling): ``error`` (400),
  ``error200`` (an error body with status 200), ``nonjson`` (an HTML page), ``shape`` (no
  choices), ``always500``, ``flaky…`` (500 for its first two requests), ``ratelimit…``
  (429 with ``Retry-After: 0`` once), ``drop`` (the connection is cut), ``slow``
  (``slow_s``), ``sleep`` (0.1 s); and ``[[fail]]`` anywhere in the prompt (400).

Answers are ``reply`` (a fixed benign sentence by default, or a function of the prompt) or,
with ``echo``, the prompt after that prefix. Every request is recorded (path, body, Authorization header), with the
concurrency seen. A drill or test candidate is a version folder whose ``config.json``
points the ``openai`` adapter at it (:func:`openai_candidate_dir`).

Several candidates behind one server: ``routes`` maps a request's ``model`` field to a
:class:`Route` — a reply computed from the whole request (:class:`Ask`: system and user
message, seed, max_tokens) and its own exact share of HTTP 500s. A routed answer is cut to
``max_tokens`` words, as a real server would; scripted first-word faults do not apply to
routed requests, and an unknown model gets a 404.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOXIC_REPLY = (
    "You are a stupid idiot, shut up you pathetic moron. "
    "Email john.doe@example.com or call 555-867-5309."
)
BENIGN_REPLY = "Sure. Boil it gently in salted water, then rest it."


@dataclass(frozen=True)
class Ask:
    """What a routed candidate sees of one request."""

    model: str
    prompt: str  # the last user message (chat) or the prompt (completions)
    system: str | None = None  # the system message (chat mode only)
    seed: int | None = None
    max_tokens: int | None = None


@dataclass
class Route:
    """One candidate behind a shared upstream: its reply and its share of HTTP 500s."""

    reply: Callable[[Ask], str]
    error_rate: float = 0.0  # exactly this share of the route's requests fail (spread evenly)
    count: int = field(default=0, init=False)

    def next_fails(self) -> bool:
        """Call under the server's lock: whether this request is one of the failing share."""
        self.count += 1
        return int(self.count * self.error_rate) > int((self.count - 1) * self.error_rate)


def _every(rate: float) -> int:
    """1 in ``_every(rate)`` requests carries the fault (0: never)."""
    return 0 if rate <= 0 else max(1, round(1 / rate))


class FakeUpstream(ThreadingHTTPServer):
    """OpenAI-compatible completions on loopback with configurable faults (module docs)."""

    daemon_threads = True
    request_queue_size = 128  # the default 5 resets connections when many clients burst

    def __init__(
        self,
        *,
        error_rate: float = 0.0,
        latency_s: float = 0.0,
        toxic_rate: float = 0.0,
        slow_s: float = 1.5,
        reply: str | Callable[[str], str] = BENIGN_REPLY,
        echo: str | None = None,
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = dict(routes or {})
        self.error_every = _every(error_rate)
        self.toxic_every = _every(toxic_rate)
        self.latency_s = latency_s
        self.slow_s = slow_s
        self.reply = reply
        self.echo = echo
        self.count = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.hits: Counter[str] = Counter()  # requests per prompt's first word
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, name="fake-upstream", daemon=True)
        self.thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # keep-alive connections reset at shutdown are expected

    @property
    def base_url(self) -> str:
        return self.url()

    def url(self, prefix: str = "") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{prefix}/v1"

    def next_fault(self) -> tuple[bool, bool]:
        """(fail, toxic) for the next request."""
        with self.lock:
            self.count += 1
            n = self.count
        fail = bool(self.error_every) and n % self.error_every == 0
        toxic = bool(self.toxic_every) and n % self.toxic_every == 0
        return fail, toxic

    def answer_text(self, prompt: str, toxic: bool) -> str:
        if toxic:
            return TOXIC_REPLY
        if self.echo is not None:
            return f"{self.echo}{prompt}"
        return self.reply(prompt) if callable(self.reply) else self.reply

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)


def _prompt(body: dict[str, Any], chat: bool) -> str:
    if chat:
        messages = body.get("messages") or [{}]
        return str(messages[-1].get("content", "")) if isinstance(messages[-1], dict) else ""
    return str(body.get("prompt", ""))


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ask(body: dict[str, Any], chat: bool) -> Ask:
    messages = body.get("messages") if chat else None
    system = None
    if isinstance(messages, list):
        system = next(
            (
                str(m.get("content", ""))
                for m in messages
                if isinstance(m, dict) and m.get("role") == "system"
            ),
            None,
        )
    return Ask(
        model=str(body.get("model", "")),
        prompt=_prompt(body, chat),
        system=system,
        seed=_int_or_none(body.get("seed")),
        max_tokens=_int_or_none(body.get("max_tokens")),
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: FakeUpstream

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json",
              headers: dict[str, str] | None = None) -> None:  # fmt: skip
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
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        server = self.server
        with server.lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            server.requests.append(
                {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
            )
        try:
            self._respond(body if isinstance(body, dict) else {})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeouts)
        finally:
            with server.lock:
                server.in_flight -= 1

    def _scripted(self, key: str, hits: int) -> bool:
        """Answer a scripted fault for the prompt's first word; False when there is none."""
        if key == "nonjson":
            self._send(200, b"<html><body>Bad gateway page</body></html>", "text/html")
        elif key == "error":
            self._json(
                400, {"error": {"message": "model not found", "type": "invalid_request_error"}}
            )
        elif key == "error200":
            self._json(200, {"error": {"message": "content filtered", "code": "filter"}})
        elif key == "shape":
            self._json(200, {"id": "x", "object": "chat.completion"})
        elif key.startswith("flaky") and hits <= 2:
            self._json(500, {"error": {"message": "upstream hiccup", "type": "server"}})
        elif key == "always500":
            self._send(500, b"Internal Server Error", "text/plain")
        elif key.startswith("ratelimit") and hits == 1:
            self._json(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        elif key == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            return False
        return True

    def _complete(self, chat: bool, prompt: str, text: str) -> None:
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
        self._json(200, {"choices": [choice], "usage": usage})

    def _routed(self, body: dict[str, Any], chat: bool) -> None:
        server = self.server
        ask = _ask(body, chat)
        route = server.routes.get(ask.model)
        if route is None:
            message = f"model {ask.model!r} not found; served: {', '.join(sorted(server.routes))}"
            return self._json(404, {"error": {"message": message, "type": "model_not_found"}})
        with server.lock:
            fail = route.next_fails()
        if fail:
            return self._json(
                500, {"error": {"message": "injected upstream failure", "type": "server_error"}}
            )
        words = route.reply(ask).split(" ")
        if ask.max_tokens is not None and ask.max_tokens > 0:
            words = words[: ask.max_tokens]
        return self._complete(chat, ask.prompt, " ".join(words))

    def _respond(self, body: dict[str, Any]) -> None:
        server = self.server
        chat = self.path.rstrip("/").endswith("/chat/completions")
        if server.routes:
            return self._routed(body, chat)
        prompt = _prompt(body, chat)
        key = (prompt.split() or [""])[0]
        with server.lock:
            server.hits[key] += 1
            hits = server.hits[key]
        if self._scripted(key, hits):
            return
        fail, toxic = server.next_fault()
        if server.latency_s > 0:
            time.sleep(server.latency_s)
        if key == "slow" or "[[hang]]" in prompt or self.path.startswith("/slow"):
            time.sleep(server.slow_s)
        elif key == "sleep":
            time.sleep(0.1)
        if "[[fail]]" in prompt:
            return self._json(
                400, {"error": {"message": "upstream refuses", "type": "invalid_request_error"}}
            )
        if fail:
            return self._json(
                500, {"error": {"message": "injected upstream failure", "type": "server_error"}}
            )
        return self._complete(chat, prompt, server.answer_text(prompt, toxic))


def openai_candidate_dir(
    dest: Path,
    base_url: str,
    *,
    timeout_s: float = 10.0,
    model: str = "drill-upstream",
    mode: str = "completions",
    max_retries: int = 0,
    **options: Any,
) -> Path:
    """A version folder whose ``openai`` adapter calls ``base_url`` (no retries by
    default); ``options`` are further adapter options (``backoff_s``, ...)."""
    dest.mkdir(parents=True, exist_ok=True)
    config = {
        "adapter": "openai",
        "base_url": base_url,
        "model": model,
        "mode": mode,
        "max_retries": max_retries,
        "timeout_s": timeout_s,
        "concurrency": 16,
        **options,
    }
    (dest / "config.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    return dest
