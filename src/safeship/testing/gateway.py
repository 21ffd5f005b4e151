"""A gateway fixture: a project with registered versions, and the gateway on a real uvicorn
server (in a thread, ``GatewayServer``) or as ``safeship gateway`` (a subprocess,
``GatewayProcess``), on a free loopback port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from safeship.config import Settings
from safeship.params import ServingParams
from safeship.project import init_project
from safeship.registry.registration import register
from safeship.registry.store import Registry

ACTOR = "tester"
_PROJECT_VARS = ("SAFESHIP_HOME", "SAFESHIP_DB_URL")


@contextmanager
def clean_env() -> Iterator[None]:
    """Hide ``SAFESHIP_HOME`` and ``SAFESHIP_DB_URL`` from the code run inside."""
    saved = {name: os.environ.pop(name) for name in _PROJECT_VARS if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def make_project(root: Path) -> Settings:
    """A git repository at ``root`` with a fresh safeship project in it."""
    root.mkdir(parents=True, exist_ok=True)
    for args in (["init", "-q"], ["config", "user.email", "t@example.com"],
                 ["config", "user.name", "t"]):  # fmt: skip
        subprocess.run(["git", *args], cwd=root, check=True)
    with clean_env():
        settings = Settings.from_env(root)
    init_project(settings)
    return settings


def add_version(
    registry: Registry, model: str, version: str, path: Path, status: str = "approved"
) -> None:
    """Register ``path`` and walk the version's status up to ``status``."""
    register(registry, model=model, path=path, version=version, author="ann", actor="ann")
    for step in ("validated", "gated", "approved", "rejected"):
        if _reached(registry, model, version, status):
            break
        registry.move_status(model, version, step, actor=ACTOR, reason="test")


def _reached(registry: Registry, model: str, version: str, status: str) -> bool:
    return bool(registry.version(model, version).status == status)


def promote(registry: Registry, model: str, version: str) -> None:
    """Force ``version`` into production (a test flip, recorded in the ledger)."""
    registry.promote(model, version, actor=ACTOR, force=True, reason="test flip")


# ---------------------------------------------------------------- the gateway
def serving_params(**overrides: Any) -> ServingParams:
    """Serving params with short timeouts and a fast follower, for tests."""
    base: dict[str, Any] = {
        "poll_interval_ms": 50,
        "timeout_s": 1.0,
        "max_prompt_chars": 500,
        "max_tokens_limit": 256,
        "default_max_tokens": 16,
        "request_log": {"batch_size": 50, "flush_ms": 50},
    }
    return ServingParams.model_validate({**base, **overrides})


class GatewayServer:
    """The gateway app on a real uvicorn server in a thread, on a free loopback port."""

    def __init__(self, settings: Settings, params: ServingParams, **config: Any) -> None:
        import uvicorn

        from safeship.gateway.app import create_app
        from safeship.gateway.service import GatewayConfig

        config.setdefault("auth", False)  # tests of keys pass auth=True
        self.app = create_app(GatewayConfig(settings=settings, params=params, **config))
        self.gateway = self.app.state.gateway
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        cfg = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="on",
                             timeout_graceful_shutdown=5)  # fmt: skip
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def wait_for(self, model: str, version: str, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            routes = self.gateway.snapshot.models.get(model)
            if (
                routes is not None
                and routes.stable is not None
                and routes.stable.version == version
            ):
                return
            time.sleep(0.02)
        raise AssertionError(f"the gateway did not switch {model} to {version}")

    def wait_seq(self, seq: int, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.gateway.snapshot.seq < seq:
            if time.monotonic() > deadline:
                raise AssertionError(f"the gateway did not reach ledger seq {seq}")
            time.sleep(0.02)

    def complete(
        self, model: str, prompt: str = "How do I boil an egg?", **body: Any
    ) -> httpx.Response:
        return self.client.post("/v1/completions", json={"model": model, "prompt": prompt, **body})

    def close(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


# ---------------------------------------------------------------- a CLI subprocess
def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GatewayProcess:
    """``safeship gateway`` in a subprocess, in ``root``."""

    def __init__(self, root: Path, *args: str, startup_s: float = 60.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("SAFESHIP_HOME", "SAFESHIP_DB_URL")}
        env.setdefault("SAFESHIP_GATEWAY_AUTH", "off")  # tests of keys set it "on"
        self.log_path = root / f"gateway-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "safeship", "gateway", "--port", str(self.port), *args],
            cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + startup_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"gateway did not start: {self.log_path.read_text()[-3000:]}")
            time.sleep(0.1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
