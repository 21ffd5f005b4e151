"""Wilson intervals and bootstrap intervals."""

from __future__ import annotations

import random

import pytest

from safeship.safety.stats import (
    Metric,
    bootstrap_mean_interval,
    cluster_share_interval,
    cluster_share_metric,
    mean_metric,
    prompt_rate_metric,
    rate_metric,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Reference values (Wilson score interval, 95%, z = 1.959964).
        (0, 10, 0.0, 0.27753),
        (1, 10, 0.017875, 0.40415),
        (5, 10, 0.23659, 0.76341),
        (10, 10, 0.72247, 1.0),
        (81, 263, 0.25528, 0.36621),
        (0, 200, 0.0, 0.018846),
    ],
)
def test_wilson_known_values(successes: int, n: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(successes, n)
    assert got_low == pytest.approx(low, abs=2e-5)
    assert got_high == pytest.approx(high, abs=2e-5)


def test_wilson_edge_cases() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(5, 3)
    narrow = wilson_interval(5, 10, confidence=0.8)
    wide = wilson_interval(5, 10, confidence=0.99)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]


def test_bootstrap_is_seeded_and_covers_the_mean() -> None:
    rng = random.Random(0)
    values = [rng.gauss(0.3, 0.1) for _ in range(200)]
    first = bootstrap_mean_interval(values, seed=5)
    assert first == bootstrap_mean_interval(values, seed=5)
    mean = sum(values) / len(values)
    assert first[0] < mean < first[1]
    assert first[1] - first[0] < 0.05
    assert bootstrap_mean_interval([0.4, 0.4, 0.4]) == (0.4, 0.4)
    assert bootstrap_mean_interval([]) == (0.0, 0.0)


def test_metric_helpers() -> None:
    rate = rate_metric("jailbreak", "compliance_rate", 3, 30)
    assert rate.key == "jailbreak.compliance_rate"
    assert rate.value == pytest.approx(0.1)
    assert rate.unsafe_bound == rate.ci_high
    assert rate.detail["count"] == 3
    mean = mean_metric("quality", "reference_overlap", [0.5, 0.6, 0.7], higher_is_worse=False)
    assert mean.unsafe_bound == mean.ci_low
    assert Metric.model_validate(rate.model_dump(mode="json")) == rate


def test_prompt_level_rate_two_always_leaking_prompts_of_25() -> None:
    # 25 prompts, k=4 outputs each; 2 prompts leak in all 4 outputs, the others never.
    # Per prompt ("any of the k failed") that is 2/25 = 0.08, Wilson 95% by hand
    # (z = 1.959964, z^2 = 3.841459, n = 25, p = 0.08):
    #   denom  = 1 + z^2/n                       = 1.1536584
    #   centre = (p + z^2/(2n)) / denom          = 0.1568292 / 1.1536584 = 0.1359404
    #   half   = z*sqrt(p(1-p)/n + z^2/(4n^2)) / denom
    #          = 1.959964 * sqrt(0.002944 + 0.0015366) / 1.1536584 = 0.1137207
    #   -> (0.0222197, 0.2496611)
    # Counting the 100 outputs as independent (8/100) would give an upper bound of
    # 0.14998, under a 0.15 limit that the prompt-level bound of 0.2497 fails.
    failed = [True, True] + [False] * 23
    metric = prompt_rate_metric("pii", "pii_output_rate", failed, k=4)
    assert metric.value == pytest.approx(0.08)
    assert metric.n == 25
    assert metric.ci_low == pytest.approx(0.0222204, abs=1e-6)
    assert metric.ci_high == pytest.approx(0.2496611, abs=1e-6)
    assert metric.method == "wilson_prompt_any"
    assert metric.detail["unit"] == "prompt" and metric.detail["k"] == 4
    assert rate_metric("pii", "x", 8, 100).ci_high == pytest.approx(0.1499811, abs=1e-6)


def test_prompt_level_rate_with_no_prompts_is_uninformative() -> None:
    metric = prompt_rate_metric("jailbreak", "compliance_rate", [], k=5)
    assert metric.n == 0 and (metric.ci_low, metric.ci_high) == (0.0, 1.0)


def test_cluster_bootstrap_resamples_prompts_not_outputs() -> None:
    # 2 of 25 prompts fail in all 4 outputs: share of outputs 8/100 = 0.08 either way,
    # but resampling whole prompts gives the interval of a 25-prompt sample.
    failures, totals = [4, 4] + [0] * 23, [4] * 25
    metric = cluster_share_metric("errors", "error_rate", failures, totals, resamples=4000)
    assert metric.value == pytest.approx(0.08) and metric.n == 25
    assert metric.method == "cluster_bootstrap_prompts"
    # A bootstrap share of 2/25 prompts: its 97.5% quantile is 5/25 = 0.20 prompts' worth.
    assert metric.ci_high == pytest.approx(0.20, abs=0.041)
    spread = [1] * 8 + [0] * 92  # the same 8 failures spread over 100 one-output prompts
    narrow = cluster_share_metric("errors", "error_rate", spread, [1] * 100, resamples=4000)
    assert narrow.ci_high < metric.ci_high
    assert cluster_share_interval([], []) == (0.0, 1.0)
    assert cluster_share_interval([0, 0], [3, 3]) == (0.0, 0.0)


def test_metric_from_an_older_profile_has_no_method() -> None:
    old = {"category": "pii", "name": "pii_output_rate", "value": 0.0, "n": 10}
    metric = Metric.model_validate({**old, "ci_low": 0.0, "ci_high": 0.3})
    assert metric.method is None and metric.key == "pii.pii_output_rate"
