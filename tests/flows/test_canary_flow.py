"""Shadow evaluation and the canary rollout as Prefect flows, against a real gateway with
real (replayed) traffic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from safeship.config import Settings
from safeship.registry.store import Registry
from safeship.testing.gateway import (
    GatewayServer,
    add_version,
    free_port,
    make_project,
    promote,
    serving_params,
)
from safeship.testing.upstream import openai_candidate_dir
from tests.integration.canary_support import FlakyUpstream, ngram_with_abuse

pytestmark = pytest.mark.slow
MODEL = "demo-chat"


def _write_params(root: Path, gateway_url: str) -> None:
    params: dict[str, Any] = {
        "shadow": {"prompts": 80, "replay_rate": 80, "min_pairs": 30, "timeout_s": 30},
        "canary": {"gateway_url": gateway_url, "steps": [10, 100], "min_requests": 60,
                   "min_stable_requests": 20, "check_interval_s": 1.0, "replay_rate": 100,
                   "max_step_duration_s": 60},
    }  # fmt: skip
    (root / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.fixture
def world(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Registry, GatewayServer, Path]]:
    settings = make_project(tmp_path / "project")
    monkeypatch.chdir(settings.project_root)
    monkeypatch.delenv("SAFESHIP_HOME", raising=False)
    monkeypatch.delenv("SAFESHIP_DB_URL", raising=False)
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    registry = Registry.open(settings)
    add_version(registry, MODEL, "1.0.0", ngram_with_abuse(tmp_path / "m" / "v1", 10))
    promote(registry, MODEL, "1.0.0")
    gateway = GatewayServer(settings, serving_params(timeout_s=5.0, shadow_queue=512))
    gateway.wait_for(MODEL, "1.0.0")
    _write_params(settings.project_root, gateway.url)
    try:
        yield registry, gateway, tmp_path
    finally:
        gateway.close()
        registry.close()


def test_aa_shadow_and_canary_pass(world: tuple[Registry, GatewayServer, Path]) -> None:
    from flows.canary import canary_rollout, shadow_evaluation

    registry, _, tmp_path = world
    add_version(registry, MODEL, "1.0.1", ngram_with_abuse(tmp_path / "m" / "v1b", 10))
    shadow = shadow_evaluation(MODEL, "1.0.1", str(tmp_path / "shadow"))
    assert shadow["passed"], shadow["reasons"]
    assert shadow["pairs"] >= 30
    assert (tmp_path / "shadow" / "shadow_drift.html").stat().st_size > 100_000
    assert registry.deployment(MODEL).shadow is None
    result = canary_rollout(MODEL, "1.0.1")
    assert result["decision"] == "passed"
    assert [s["decision"] for s in result["steps"]] == ["next_step", "promote"]
    assert all(s["canary_n"] >= 60 for s in result["steps"])
    for step in result["steps"]:  # an Evidently report per step, cited by its decision
        assert step["drift"]["written"], step["drift"]
        html = Path(step["drift"]["html"])
        assert html.stat().st_size > 100_000 and html.with_suffix(".json").exists()
        assert str(html) in step["reason"]
    assert "no concurrent stable arm" in result["steps"][-1]["compared_with"]
    kinds = [e.kind for e in registry.events(model=MODEL)]
    assert "canary.analysis" in kinds and kinds.count("deployment.canary") == 2


def test_failing_candidate_is_rolled_back_and_the_run_fails(
    world: tuple[Registry, GatewayServer, Path],
) -> None:
    from flows.canary import canary_rollout

    registry, _, tmp_path = world
    upstream = FlakyUpstream(fail_rate=0.2)
    try:
        add_version(
            registry, MODEL, "2.0.0", openai_candidate_dir(tmp_path / "api", upstream.url())
        )
        state = canary_rollout(MODEL, "2.0.0", return_state=True)
    finally:
        upstream.close()
    assert state.is_failed(), [
        (s["weight"], s["decision"], s["canary_n"], s["stable_n"], s["metrics"]["error_rate"])
        for s in state.result()["steps"]
    ]
    deployment = registry.deployment(MODEL)
    assert deployment.canary is None and deployment.canary_weight == 0
    assert registry.version(MODEL, "2.0.0").status == "rejected"
    aborted = [e for e in registry.events(model=MODEL) if e.kind == "deployment.canary_aborted"]
    assert len(aborted) == 1 and aborted[0].payload["metric"] == "error_rate"
    assert aborted[0].payload["step"] == 10


def test_unreachable_gateway_fails_clearly(world: tuple[Registry, GatewayServer, Path]) -> None:
    from flows.canary import canary_rollout
    from safeship.canary.runtime import GatewayUnreachable

    registry, _, tmp_path = world
    add_version(registry, MODEL, "1.0.1", ngram_with_abuse(tmp_path / "m" / "v1b", 10))
    _write_params(Settings.from_env().project_root, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(GatewayUnreachable, match="unreachable"):
        canary_rollout(MODEL, "1.0.1")
    assert registry.deployment(MODEL).canary is None
