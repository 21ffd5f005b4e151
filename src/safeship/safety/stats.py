"""Statistics for safety metrics: Wilson intervals, seeded bootstrap, permutation tests.

Every metric the battery reports is a ``Metric``: a value, its sample size and a 95%
interval, plus (once judged) the threshold and whether it passed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Metric(BaseModel):
    """One measured safety metric with its uncertainty."""

    model_config = ConfigDict(extra="forbid")

    category: str
    name: str
    value: float
    n: int = Field(ge=0)
    ci_low: float
    ci_high: float
    higher_is_worse: bool = True
    threshold: float | None = None
    passed: bool | None = None
    p_value: float | None = None
    detail: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        """``category.name``: how params.yaml thresholds and deltas refer to it."""
        return f"{self.category}.{self.name}"

    @property
    def unsafe_bound(self) -> float:
        """The interval's end in the unsafe direction (upper when higher is worse)."""
        return self.ci_high if self.higher_is_worse else self.ci_low


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a rate of ``successes`` out of ``n`` (``(0, 1)`` if n=0)."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..{n}, got {successes}")
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def bootstrap_mean_interval(
    values: Sequence[float], *, confidence: float = 0.95, resamples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean of ``values`` (seeded, reproducible)."""
    import numpy as np

    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return 0.0, 0.0
    if data.size == 1 or np.all(data == data[0]):
        return float(data[0]), float(data[0])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, data.size, size=(resamples, data.size))
    means = data[idx].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def bootstrap_diff_interval(
    a: Sequence[float],
    b: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval for ``|mean(a) - mean(b)|``."""
    import numpy as np

    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if xa.size == 0 or xb.size == 0:
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    ma = xa[rng.integers(0, xa.size, size=(resamples, xa.size))].mean(axis=1)
    mb = xb[rng.integers(0, xb.size, size=(resamples, xb.size))].mean(axis=1)
    gaps = np.abs(ma - mb)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(gaps, [alpha, 1 - alpha])
    return float(low), float(high)


def max_group_gap(groups: Mapping[str, Sequence[float]]) -> tuple[float, str, str]:
    """The largest difference between two groups' means, and which groups (high, low)."""
    means = {name: sum(vals) / len(vals) for name, vals in groups.items() if len(vals) > 0}
    if len(means) < 2:
        return 0.0, "", ""
    high = max(means, key=lambda name: means[name])
    low = min(means, key=lambda name: means[name])
    return means[high] - means[low], high, low


def permutation_test_gap(
    groups: Mapping[str, Sequence[float]], *, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Permutation test for the largest gap between group means.

    Returns ``(observed_gap, p_value)``. The statistic is the max-minus-min of group means,
    so testing several groups at once needs no multiple-comparison correction.
    """
    import numpy as np

    names = [name for name, vals in groups.items() if len(vals) > 0]
    if len(names) < 2:
        return 0.0, 1.0
    pooled = np.concatenate([np.asarray(groups[name], dtype=float) for name in names])
    sizes = [len(groups[name]) for name in names]
    labels = np.repeat(np.arange(len(names)), sizes)
    counts = np.bincount(labels, minlength=len(names)).astype(float)

    def gap(assign: Any) -> Any:
        sums = np.stack([(assign == g) @ pooled for g in range(len(names))], axis=1)
        means = sums / counts
        return means.max(axis=1) - means.min(axis=1)

    observed = float(gap(labels[None, :])[0])
    if observed < 1e-12:  # identical group means (up to rounding): nothing to test
        return 0.0, 1.0
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(labels, (resamples, 1)), axis=1)
    null = gap(perms)
    p_value = (1 + int(np.sum(null >= observed - 1e-12))) / (resamples + 1)
    return observed, float(p_value)


def rate_metric(
    category: str,
    name: str,
    successes: int,
    n: int,
    *,
    confidence: float = 0.95,
    higher_is_worse: bool = True,
    detail: dict[str, Any] | None = None,
) -> Metric:
    """A rate (``successes / n``) with its Wilson interval."""
    low, high = wilson_interval(successes, n, confidence)
    return Metric(
        category=category,
        name=name,
        value=successes / n if n else 0.0,
        n=n,
        ci_low=low,
        ci_high=high,
        higher_is_worse=higher_is_worse,
        detail={"count": successes, **(detail or {})},
    )


def mean_metric(
    category: str,
    name: str,
    values: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
    higher_is_worse: bool = True,
    detail: dict[str, Any] | None = None,
) -> Metric:
    """A mean with its seeded bootstrap interval."""
    low, high = bootstrap_mean_interval(
        values, confidence=confidence, resamples=resamples, seed=seed
    )
    value = float(sum(values) / len(values)) if len(values) else 0.0
    return Metric(
        category=category,
        name=name,
        value=value,
        n=len(values),
        ci_low=min(low, value),
        ci_high=max(high, value),
        higher_is_worse=higher_is_worse,
        detail=detail or {},
    )
