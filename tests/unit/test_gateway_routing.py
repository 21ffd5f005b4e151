"""Routing snapshots: sticky canary buckets, pinning rules, shadow choice."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from safeship.gateway.errors import GatewayError
from safeship.gateway.routing import (
    LoadedVersion,
    ModelRoutes,
    Snapshot,
    bucket,
    choose,
    split_model,
)
from safeship.registry.status import DEPLOYABLE


def _loaded(version: str) -> LoadedVersion:
    generator: Any = object()
    return LoadedVersion("m", version, f"hash-{version}", "ngram", Path("."), generator, 0.0)


def _snapshot(**routes: Any) -> Snapshot:
    statuses = {"1.0.0": "production", "1.1.0": "canary", "1.2.0": "rejected", "0.9.0": "retired"}
    model = ModelRoutes(
        model="m", stable=_loaded("1.0.0"), statuses=MappingProxyType(statuses), **routes
    )
    return Snapshot(seq=1, models=MappingProxyType({"m": model}), built_at=0.0)


def test_bucket_is_stable_and_spread() -> None:
    assert bucket("m", "alice") == bucket("m", "alice")
    counts = [0] * 10
    for i in range(5000):
        counts[bucket("m", f"user{i}") // 10] += 1
    assert min(counts) > 400  # roughly uniform


def test_canary_by_weight_is_sticky_and_monotone() -> None:
    low = _snapshot(canary=_loaded("1.1.0"), canary_weight=10)
    high = _snapshot(canary=_loaded("1.1.0"), canary_weight=40)
    users = [f"u{i}" for i in range(1000)]
    at_low = {
        u
        for u in users
        if choose(low, "m", caller=u, pin=None, deployable=DEPLOYABLE).role == "canary"
    }
    at_high = {
        u
        for u in users
        if choose(high, "m", caller=u, pin=None, deployable=DEPLOYABLE).role == "canary"
    }
    assert at_low < at_high  # raising the weight only adds callers
    assert 60 < len(at_low) < 140 and 330 < len(at_high) < 470
    for u in users[:50]:
        first = choose(high, "m", caller=u, pin=None, deployable=DEPLOYABLE)
        assert all(
            choose(high, "m", caller=u, pin=None, deployable=DEPLOYABLE).version == first.version
            for _ in range(3)
        )


def test_zero_weight_and_full_weight() -> None:
    none = _snapshot(canary=_loaded("1.1.0"), canary_weight=0)
    full = _snapshot(canary=_loaded("1.1.0"), canary_weight=100)
    assert {
        choose(none, "m", caller=None, pin=None, deployable=DEPLOYABLE).version for _ in range(50)
    } == {"1.0.0"}
    assert {
        choose(full, "m", caller=None, pin=None, deployable=DEPLOYABLE).version for _ in range(50)
    } == {"1.1.0"}


def test_shadow_is_attached_unless_it_answers() -> None:
    snap = _snapshot(shadow=_loaded("1.1.0"))
    assert choose(snap, "m", caller="a", pin=None, deployable=DEPLOYABLE).shadow is not None
    same = _snapshot(shadow=_loaded("1.0.0"))
    assert choose(same, "m", caller="a", pin=None, deployable=DEPLOYABLE).shadow is None


def test_pins() -> None:
    snap = _snapshot()
    route = choose(snap, "m", caller=None, pin="1.0.0", deployable=DEPLOYABLE)
    assert (route.role, route.version, route.target is not None) == ("pinned", "1.0.0", True)
    retired = choose(snap, "m", caller=None, pin="0.9.0", deployable=DEPLOYABLE)
    assert retired.target is None  # deployable but not loaded: loaded on demand
    with pytest.raises(GatewayError) as rejected:
        choose(snap, "m", caller=None, pin="1.2.0", deployable=DEPLOYABLE)
    assert (rejected.value.status, rejected.value.code) == (403, "version_not_deployable")
    with pytest.raises(GatewayError) as unknown:
        choose(snap, "m", caller=None, pin="7.0.0", deployable=DEPLOYABLE)
    assert (unknown.value.status, unknown.value.code) == (404, "version_not_found")
    with pytest.raises(GatewayError) as model:
        choose(snap, "nope", caller=None, pin=None, deployable=DEPLOYABLE)
    assert model.value.code == "model_not_found" and "m" in model.value.message


def test_split_model() -> None:
    assert split_model("demo-chat@1.0.0") == ("demo-chat", "1.0.0")
    assert split_model("demo-chat") == ("demo-chat", None)
    with pytest.raises(GatewayError):
        split_model("demo-chat@")
