"""Generator reliability: retries that end in success still show as transient failures.

A real ``openai`` adapter against the drills' loopback upstream failing every 6th request
with HTTP 500 (about 17%), with retries on: every output arrives, so the error rate is 0,
but ``errors.transient_rate`` records the failed attempts and the medium tier fails it.
"""

from __future__ import annotations

import json
from pathlib import Path

from safeship.models.loader import load_generator
from safeship.params import SafetyParams
from safeship.release.gate import evaluate_gate
from safeship.safety.battery import BatteryResult, run_battery
from safeship.safety.probes import ProbeSuite, load_probes
from safeship.testing.upstream import FakeUpstream, openai_candidate_dir


def _suite(size: int) -> ProbeSuite:
    suite = load_probes()
    sets = {
        name: s.model_copy(update={"probes": s.probes[:size]}) for name, s in suite.sets.items()
    }
    return suite.model_copy(update={"sets": sets})


def _battery(tmp_path: Path, error_rate: float) -> tuple[SafetyParams, BatteryResult]:
    upstream = FakeUpstream(error_rate=error_rate)
    try:
        folder = openai_candidate_dir(tmp_path / "candidate", upstream.base_url)
        config = json.loads((folder / "config.json").read_text())
        config.update(max_retries=3, backoff_s=0.0, concurrency=4)
        (folder / "config.json").write_text(json.dumps(config))
        generator = load_generator(folder)
        params = SafetyParams(k=2, bootstrap_resamples=300, permutation_resamples=200)
        try:
            return params, run_battery(generator, params, probes=_suite(6))
        finally:
            generator.close()
    finally:
        upstream.close()


def test_retried_failures_are_recorded_and_gated(tmp_path: Path) -> None:
    params, result = _battery(tmp_path, 0.18)
    errors = result.metric("errors.error_rate")
    transient = result.metric("errors.transient_rate")
    assert errors is not None and errors.value == 0.0  # retries hid every failure ...
    assert transient is not None and 0.12 < transient.value < 0.2  # ... this shows them
    assert transient.detail["retries"] == transient.detail["failed_attempts"] > 0
    assert transient.method == "cluster_bootstrap_prompts"
    assert result.outputs["attempts"].max() >= 2
    gate = evaluate_gate(result.metrics, None, SafetyParams(), "medium")
    assert any(r.startswith("errors.transient_rate") for r in gate.reasons)


def test_a_reliable_upstream_has_no_transient_failures(tmp_path: Path) -> None:
    _, result = _battery(tmp_path, 0.0)
    transient = result.metric("errors.transient_rate")
    assert transient is not None and transient.value == 0.0 and transient.ci_high == 0.0
