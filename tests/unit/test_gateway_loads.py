"""Background loads in the gateway: one thread per model, each model's queue latest-wins."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from safeship.gateway.loading import ModelLoads


def _record(model: str, version: str) -> Any:
    return SimpleNamespace(model=model, version=version)


def test_a_blocked_model_does_not_hold_another_and_only_its_latest_wish_loads() -> None:
    release_b, b_started = threading.Event(), threading.Event()
    loaded: list[tuple[str, str]] = []
    done: list[str] = []
    a_done = threading.Event()

    def load(record: Any) -> None:
        if record.model == "b" and record.version == "1":
            b_started.set()
            assert release_b.wait(10)
        loaded.append((record.model, record.version))

    def on_done(model: str) -> None:
        done.append(model)
        if model == "a":
            a_done.set()

    loads = ModelLoads(load, on_done)
    loads.want("b", [_record("b", "1")])
    assert b_started.wait(10)
    loads.want("b", [_record("b", "2")])  # b 1 is loading: 2 waits ...
    loads.want("b", [_record("b", "3")])  # ... and is replaced by 3 (latest wins)
    loads.want("a", [_record("a", "1")])
    assert a_done.wait(10)  # a is loaded and published while b 1 is still blocked
    assert loaded == [("a", "1")] and loads.busy()
    release_b.set()
    assert loads.wait_idle(10)
    assert loaded == [("a", "1"), ("b", "1"), ("b", "3")]
    assert done.count("b") == 2 and not loads.busy()


def test_a_failing_load_does_not_stop_the_models_queue() -> None:
    loaded: list[str] = []

    def load(record: Any) -> None:
        if record.version == "bad":
            raise RuntimeError("adapter exploded")
        loaded.append(record.version)

    loads = ModelLoads(load, lambda model: None)
    loads.want("m", [_record("m", "bad"), _record("m", "good")])
    assert loads.wait_idle(10)
    assert loaded == ["good"]
