"""Preload: the gateway loads a model's newest approved version before any move routes
traffic to it, so entering shadow or canary (and promotion) switch to the loaded object."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from safeship.gateway.preload import candidates
from safeship.gateway.routing import ModelRoutes, Snapshot
from safeship.registry.store import Registry
from safeship.testing.gateway import (
    ACTOR,
    GatewayServer,
    add_version,
    make_project,
    promote,
    serving_params,
)
from safeship.testing.ngram import train_ngram


def _until(check: Callable[[], object], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_candidates_are_the_newest_approved_version_not_served() -> None:
    statuses = {"1.0.0": "production", "1.2.0": "approved", "1.10.0": "approved",
                "2.0.0": "gated", "0.9.0": "retired"}  # fmt: skip
    routes = ModelRoutes(model="m", stable=None, statuses=MappingProxyType(statuses))
    other = ModelRoutes(model="n", stable=None, statuses=MappingProxyType({"1.0.0": "gated"}))
    snapshot = Snapshot(seq=1, models=MappingProxyType({"m": routes, "n": other}), built_at=0)
    assert candidates(snapshot) == [("m", "1.10.0")]  # semver order, not text order


def test_an_approved_version_is_loaded_before_the_canary_move(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "project")
    registry = Registry.open(settings)
    add_version(registry, "demo-chat", "1.0.0", train_ngram(tmp_path / "m" / "o3", 3))
    add_version(registry, "demo-chat", "1.1.0", train_ngram(tmp_path / "m" / "o4", 4), "gated")
    promote(registry, "demo-chat", "1.0.0")
    server = GatewayServer(settings, serving_params(poll_interval_ms=100))
    try:
        server.wait_for("demo-chat", "1.0.0")
        loader = server.gateway.follower.loader
        time.sleep(0.5)  # several polls: a gated version is not preloaded
        assert loader.cached("demo-chat", "1.1.0") is None
        registry.move_status("demo-chat", "1.1.0", "approved", actor=ACTOR, reason="test")
        _until(lambda: loader.cached("demo-chat", "1.1.0") is not None)
        preloaded = loader.cached("demo-chat", "1.1.0")
        routes = server.gateway.snapshot.models["demo-chat"]
        assert routes.canary is None and routes.stable is not None
        assert routes.stable.version == "1.0.0"  # loaded, not yet routed to
        registry.set_canary("demo-chat", "1.1.0", 50, actor=ACTOR, reason="test")
        _until(lambda: server.gateway.snapshot.models["demo-chat"].canary is not None)
        assert server.gateway.snapshot.models["demo-chat"].canary is preloaded
    finally:
        server.close()
        registry.close()
