"""Canary analysis against a real gateway with real traffic: A/A promotes, a toxic
candidate and a failing candidate are rolled back, a dead rollout is repaired."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from canary_support import FlakyUpstream, ngram_with_abuse, rollout_on_gateway

from safeship.canary import repair_stale_canary
from safeship.config import Settings
from safeship.gateway.requestlog import RequestLog, default_url
from safeship.params import CanaryParams
from safeship.registry.store import Registry
from safeship.testing.gateway import (
    GatewayServer,
    add_version,
    make_project,
    promote,
    serving_params,
)
from safeship.testing.upstream import openai_candidate_dir

MODEL = "demo-chat"


@dataclass
class World:
    settings: Settings
    registry: Registry
    gateway: GatewayServer
    log: RequestLog
    models: Path


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = make_project(tmp_path / "project")
    registry = Registry.open(settings)
    models = tmp_path / "models"
    add_version(registry, MODEL, "1.0.0", ngram_with_abuse(models / "v1", 10))
    promote(registry, MODEL, "1.0.0")
    gateway = GatewayServer(settings, serving_params(timeout_s=5.0))
    gateway.wait_for(MODEL, "1.0.0")
    log = RequestLog(default_url(settings))
    try:
        yield World(settings, registry, gateway, log, models)
    finally:
        gateway.close()
        log.close()
        registry.close()


def _params(**overrides: object) -> CanaryParams:
    base: dict[str, object] = {
        "steps": [10, 50, 100],
        "min_requests": 60,
        "min_stable_requests": 30,
    }
    return CanaryParams.model_validate({**base, **overrides})


@pytest.mark.slow
def test_aa_canary_is_promoted(world: World) -> None:
    add_version(world.registry, MODEL, "1.0.1", ngram_with_abuse(world.models / "v1b", 10))
    result = rollout_on_gateway(
        world.registry, world.gateway, world.log, MODEL, "1.0.1", _params(), rate=120
    )
    decisions = [s["decision"] for s in result.steps]
    assert decisions == ["next_step", "next_step", "promote"], result.steps
    assert world.registry.deployment(MODEL).production == "1.0.1"
    assert all(s["canary_n"] >= 60 for s in result.steps)
    assert all(s["canary_callers"] < s["canary_n"] for s in result.steps)  # sticky callers


@pytest.mark.slow
def test_toxic_candidate_is_rolled_back(world: World) -> None:
    add_version(world.registry, MODEL, "1.1.0", ngram_with_abuse(world.models / "tox", 80))
    result = rollout_on_gateway(
        world.registry, world.gateway, world.log, MODEL, "1.1.0",
        _params(min_requests=400), rate=120,
    )  # fmt: skip
    last = result.verdict
    assert result.outcome == "rolled_back" and last is not None, result.steps
    assert last.breach is not None and last.breach.metric == "toxicity_rate"
    assert last.breach.value > last.breach.bound
    print(f"toxic candidate rolled back after {sum(s['canary_n'] for s in result.steps)} "
          "canary requests")  # fmt: skip
    state = world.registry.deployment(MODEL)
    assert state.canary is None and state.canary_weight == 0 and state.production == "1.0.0"
    assert world.registry.version(MODEL, "1.1.0").status == "rejected"


@pytest.mark.slow
def test_failing_candidate_is_rolled_back_at_first_step(world: World) -> None:
    upstream = FlakyUpstream(fail_rate=0.2)
    try:
        add_version(
            world.registry,
            MODEL,
            "2.0.0",
            openai_candidate_dir(world.models / "api", upstream.url()),
        )
        result = rollout_on_gateway(
            world.registry, world.gateway, world.log, MODEL, "2.0.0", _params(), rate=120
        )
    finally:
        upstream.close()
    verdict = result.verdict
    assert result.outcome == "rolled_back" and len(result.steps) == 1, result.steps
    assert verdict is not None and verdict.breach is not None
    assert verdict.breach.metric == "error_rate" and verdict.weight == 10
    assert world.registry.deployment(MODEL).canary_weight == 0
    kinds = [e.kind for e in world.registry.events(model=MODEL)]
    assert kinds[-1] == "deployment.canary_aborted"


def test_repair_stale_canary(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "project")
    with Registry.open(settings) as registry:
        add_version(registry, MODEL, "1.0.0", ngram_with_abuse(tmp_path / "m" / "v1", 0))
        promote(registry, MODEL, "1.0.0")
        add_version(registry, MODEL, "1.1.0", ngram_with_abuse(tmp_path / "m" / "v2", 0))
        registry.set_canary(MODEL, "1.1.0", 25, actor="tester")
        assert not repair_stale_canary(registry, MODEL, max_age_s=60)  # fresh: left alone
        before = registry.count_rows()["ledger_events"]
        later = datetime.now(UTC) + timedelta(seconds=61)
        assert repair_stale_canary(registry, MODEL, max_age_s=60, now=later)
        state = registry.deployment(MODEL)
        assert state.canary is None and state.canary_weight == 0 and state.production == "1.0.0"
        assert registry.version(MODEL, "1.1.0").status == "rejected"
        assert registry.count_rows()["ledger_events"] == before + 1  # one event, one change
        assert registry.events(model=MODEL)[-1].kind == "deployment.canary_aborted"
        assert not repair_stale_canary(registry, MODEL, max_age_s=60, now=later)  # idempotent


ROLLOUT = """
import sys, time
from safeship.config import Settings
from safeship.registry.store import Registry
registry = Registry.open(Settings.from_env())
registry.set_canary("demo-chat", "1.1.0", 5, actor="rollout")
print("started", flush=True)
while True:  # a rollout that checks every 0.2 s until it is killed
    registry.record("canary.analysis", actor="rollout", model="demo-chat", version="1.1.0")
    time.sleep(0.2)
"""


def test_killed_rollout_leaves_no_canary_beyond_the_monitor_interval(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "project")
    with Registry.open(settings) as registry:
        add_version(registry, MODEL, "1.0.0", ngram_with_abuse(tmp_path / "m" / "v1", 0))
        promote(registry, MODEL, "1.0.0")
        add_version(registry, MODEL, "1.1.0", ngram_with_abuse(tmp_path / "m" / "v2", 0))
    proc = subprocess.Popen(
        [sys.executable, "-c", ROLLOUT], cwd=settings.project_root, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"started"
        time.sleep(1.0)
        with Registry.open(settings) as registry:  # alive: the monitor leaves it alone
            assert not repair_stale_canary(registry, MODEL, max_age_s=1.0)
            assert registry.deployment(MODEL).canary_weight == 5
    finally:
        proc.kill()  # SIGKILL mid-canary: no cleanup code runs
        proc.wait(timeout=10)
    max_age, monitor_interval = 1.0, 0.5
    killed = time.monotonic()
    with Registry.open(settings) as registry:
        while registry.deployment(MODEL).canary_weight > 0:  # the monitor's loop
            assert time.monotonic() - killed < max_age + 2 * monitor_interval + 1.0
            repair_stale_canary(registry, MODEL, max_age_s=max_age)
            time.sleep(monitor_interval)
        assert time.monotonic() - killed <= max_age + 2 * monitor_interval + 0.5
        assert registry.version(MODEL, "1.1.0").status == "rejected"
