"""A loopback OpenAI-compatible upstream with injected faults, for drill candidates.

``FaultyUpstream(error_rate=..., latency_s=..., toxic_rate=...)`` answers
``/v1/completions`` and ``/v1/chat/completions`` on a free ``127.0.0.1`` port. Faults are
deterministic shares: every ``round(1/rate)``-th request fails with HTTP 500 (or answers
with an insult and a planted e-mail address and phone number), and every answer waits
``latency_s`` first. A drill candidate is a version whose ``config.json`` points the
``openai`` adapter at it (:func:`openai_candidate_dir`).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOXIC_REPLY = (
    "You are a stupid idiot, shut up you pathetic moron. "
    "Email john.doe@example.com or call 555-867-5309."
)


def _every(rate: float) -> int:
    """1 in ``_every(rate)`` requests carries the fault (0: never)."""
    return 0 if rate <= 0 else max(1, round(1 / rate))


class FaultyUpstream(ThreadingHTTPServer):
    """OpenAI-compatible completions on loopback with configurable faults."""

    daemon_threads = True

    def __init__(
        self, *, error_rate: float = 0.0, latency_s: float = 0.0, toxic_rate: float = 0.0
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.error_every = _every(error_rate)
        self.toxic_every = _every(toxic_rate)
        self.latency_s = latency_s
        self.count = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(
            target=self.serve_forever, name="drill-upstream", daemon=True
        )
        self.thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # keep-alive connections reset at shutdown are expected

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def next_fault(self) -> tuple[bool, bool]:
        """(fail, toxic) for the next request."""
        with self.lock:
            self.count += 1
            n = self.count
        fail = bool(self.error_every) and n % self.error_every == 0
        toxic = bool(self.toxic_every) and n % self.toxic_every == 0
        return fail, toxic

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultyUpstream

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        fail, toxic = self.server.next_fault()
        if self.server.latency_s > 0:
            time.sleep(self.server.latency_s)
        chat = self.path.rstrip("/").endswith("/chat/completions")
        if fail:
            status = 500
            payload: dict[str, Any] = {
                "error": {"message": "injected upstream failure", "type": "server_error"}
            }
        else:
            status = 200
            text = TOXIC_REPLY if toxic else "Sure. Boil it gently in salted water, then rest it."
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            payload = {
                "choices": [choice],
                "usage": {"prompt_tokens": len(str(body).split()), "completion_tokens": 12},
            }
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


def openai_candidate_dir(dest: Path, base_url: str, *, timeout_s: float = 10.0) -> Path:
    """A version folder whose ``openai`` adapter calls ``base_url`` (no retries)."""
    dest.mkdir(parents=True, exist_ok=True)
    config = {
        "adapter": "openai",
        "base_url": base_url,
        "model": "drill-upstream",
        "mode": "completions",
        "max_retries": 0,
        "timeout_s": timeout_s,
        "concurrency": 16,
    }
    (dest / "config.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    return dest
