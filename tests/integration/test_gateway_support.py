"""Helpers for the gateway tests (no tests here): a project with real n-gram versions, a
loopback OpenAI-compatible upstream, and the gateway on a real uvicorn server.
"""

from __future__ import annotations

import json
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
import pytest

from safeship.config import Settings
from safeship.demo import prepare as prep
from safeship.demo import train as tr
from safeship.params import ServingParams, TrainParams, parse_params
from safeship.project import init_project
from safeship.registry.registration import register
from safeship.registry.store import Registry

ROOT = Path(__file__).resolve().parents[2]
ACTOR = "tester"


# ---------------------------------------------------------------- models and project
def train_ngram(dest: Path, order: int, data: Path | None = None, *, router: bool = True) -> Path:
    """A real demo n-gram model trained on two slices of the demo corpus (~0.1 s)."""
    data = data or dest.parent / "prepared"
    if not (data / "corpus.jsonl").exists():
        params = parse_params(
            {"prepare": {"source_dir": str(ROOT / "src/safeship/demo/data"),
                         "slices": ["cooking", "travel"]}},
            Path("params.yaml"),
        ).prepare  # fmt: skip
        prep.prepare(params, ROOT, data)
    tr.train(TrainParams(order=order, router=router), dest.parent, data_dir=data, model_dir=dest,
             metrics_path=dest.parent / f"{dest.name}.metrics.json")  # fmt: skip
    return dest


def openai_version(dest: Path, base_url: str, **options: Any) -> Path:
    """A version served by an OpenAI-compatible upstream (the gateway in front of it)."""
    dest.mkdir(parents=True, exist_ok=True)
    config = {"adapter": "openai", "base_url": base_url, "model": "upstream-model",
              "mode": "completions", "max_retries": 0, "timeout_s": 10, **options}  # fmt: skip
    (dest / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return dest


@contextmanager
def clean_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SAFESHIP_HOME", raising=False)
        mp.delenv("SAFESHIP_DB_URL", raising=False)
        yield


def make_project(root: Path) -> Settings:
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
    register(registry, model=model, path=path, version=version, author="ann", actor="ann")
    for step in ("validated", "gated", "approved", "rejected"):
        if _reached(registry, model, version, status):
            break
        registry.move_status(model, version, step, actor=ACTOR, reason="test")


def _reached(registry: Registry, model: str, version: str, status: str) -> bool:
    current = registry.version(model, version).status
    return current == status or (status == "rejected" and current == "rejected")


def promote(registry: Registry, model: str, version: str) -> None:
    registry.promote(model, version, actor=ACTOR, force=True, reason="test flip")


# ---------------------------------------------------------------- the gateway
def test_params(**overrides: Any) -> ServingParams:
    base: dict[str, Any] = {
        "poll_interval_ms": 50,
        "timeout_s": 1.0,
        "max_prompt_chars": 500,
        "max_tokens_limit": 256,
        "default_max_tokens": 16,
        "request_log": {"batch_size": 50, "flush_ms": 50},
    }
    return ServingParams.model_validate({**base, **overrides})


test_params.__test__ = False  # type: ignore[attr-defined]


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
