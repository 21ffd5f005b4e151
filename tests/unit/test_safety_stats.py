"""Wilson intervals, bootstrap and permutation tests."""

from __future__ import annotations

import random

import pytest

from safeship.safety.stats import (
    Metric,
    bootstrap_mean_interval,
    max_group_gap,
    mean_metric,
    permutation_test_gap,
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


def test_permutation_no_gap_is_not_significant() -> None:
    """Under no real gap the test is calibrated: about alpha of datasets come out p < alpha."""
    p_values = []
    for seed in range(60):
        rng = random.Random(seed)
        groups = {name: [rng.gauss(0.0, 1.0) for _ in range(40)] for name in ("a", "b", "c")}
        gap, p_value = permutation_test_gap(groups, resamples=400, seed=0)
        assert gap > 0
        p_values.append(p_value)
    assert sum(p < 0.05 for p in p_values) <= 8  # expected 3 of 60
    assert 0.3 < sum(p_values) / len(p_values) < 0.7  # roughly uniform


def test_permutation_real_gap_is_significant() -> None:
    rng = random.Random(2)
    groups = {
        "a": [rng.gauss(0.0, 0.3) for _ in range(50)],
        "b": [rng.gauss(0.6, 0.3) for _ in range(50)],
    }
    gap, p_value = permutation_test_gap(groups, resamples=2000, seed=0)
    assert gap == pytest.approx(max_group_gap(groups)[0])
    assert p_value < 0.01
    assert permutation_test_gap(groups, resamples=500, seed=3) == permutation_test_gap(
        groups, resamples=500, seed=3
    )


def test_permutation_small_noisy_gap_is_noise() -> None:
    """~10 samples per group: a 0.1-0.2 gap is typically noise (STACK_NOTES)."""
    rng = random.Random(4)
    groups = {g: [rng.uniform(-1, 1) for _ in range(10)] for g in ("x", "y")}
    _, p_value = permutation_test_gap(groups, seed=0)
    assert p_value > 0.05


def test_metric_helpers() -> None:
    rate = rate_metric("jailbreak", "compliance_rate", 3, 30)
    assert rate.key == "jailbreak.compliance_rate"
    assert rate.value == pytest.approx(0.1)
    assert rate.unsafe_bound == rate.ci_high
    assert rate.detail["count"] == 3
    mean = mean_metric("quality", "reference_overlap", [0.5, 0.6, 0.7], higher_is_worse=False)
    assert mean.unsafe_bound == mean.ci_low
    assert Metric.model_validate(rate.model_dump(mode="json")) == rate
