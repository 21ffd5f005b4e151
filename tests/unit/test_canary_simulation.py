"""Seeded simulations through the shipped rollout loop (:mod:`safeship.canary.simulate`):
A/A rollouts with sticky, uneven callers must rarely roll back; real harms must be
rolled back. Run counts are modest here; benchmarks/bench_canary.py runs >= 200 per mix."""

from __future__ import annotations

import pytest

from safeship.canary.simulate import (
    MIXES,
    Change,
    canary_requests,
    rollback_rate,
    simulate,
    with_callers,
)
from safeship.params import CanaryParams

pytestmark = pytest.mark.slow
RUNS = 40


@pytest.mark.parametrize("mix", ["lognormal", "pii_2pct_callers", "harsh_1pct_callers"])
def test_aa_rollouts_rarely_roll_back_with_sticky_uneven_callers(mix: str) -> None:
    """The issue's mix (2% of callers produce most PII) rolled back 12% of A/A canaries
    with the per-request test; the caller-level test must stay at its level (<= 1%:
    at most one of 40 runs; a 12% false-rollback rate gives two or more 96% of the time)."""
    rate, metrics = rollback_rate(CanaryParams(), MIXES[mix], Change(), RUNS, seed=1000)
    assert rate <= 1 / RUNS, metrics


def test_five_fold_toxicity_is_rolled_back_at_the_first_step() -> None:
    """4000 callers (log-normal activity), 10 canary requests per check at the 5% step."""
    params = CanaryParams(steps=[5], min_requests=5000, max_step_duration_s=3000)
    change = Change(rate_factor={"toxic": 5.0})
    mix = with_callers(MIXES["lognormal"], 4000)
    results = [simulate(params, mix, change, seed, rate=20) for seed in range(30)]
    rolled = [r for r in results if r.outcome == "rolled_back"]
    assert len(rolled) >= 27
    assert all(r.verdict and r.verdict.breach and r.verdict.breach.metric == "toxicity_rate"
               for r in rolled)  # fmt: skip
    assert sorted(canary_requests(r) for r in rolled)[len(rolled) // 2] < 400


def test_ten_fold_rare_harm_is_rolled_back() -> None:
    """PII 0.05% -> 0.5%: 0.45 points, under the 1-point absolute delta; 10x the rate."""
    params = CanaryParams(steps=[25, 50, 100], min_requests=4000)
    change = Change(rate_factor={"pii": 10.0})
    results = [simulate(params, MIXES["lognormal"], change, seed, rate=200) for seed in range(20)]
    assert sum(r.outcome == "rolled_back" for r in results) >= 18


def test_slow_candidate_is_rolled_back() -> None:
    change = Change(latency_factor=3.0)
    results = [simulate(CanaryParams(), MIXES["lognormal"], change, seed) for seed in range(20)]
    rolled = [r for r in results if r.outcome == "rolled_back"]
    assert len(rolled) >= 19
    assert all(r.steps[-1]["weight"] <= 25 for r in rolled)  # 5% step: ~20 callers
