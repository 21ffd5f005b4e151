"""Statistics for safety metrics: Wilson intervals, seeded bootstrap, permutation tests.

Every metric the battery reports is a ``Metric``: a value, its sample size and a 95%
interval, plus (once judged) the threshold and whether it passed. Since profile schema 2
every interval uses the *prompt* as its unit (the k generations of one prompt are not
independent) and ``method`` says how it was computed:

* ``wilson_prompt_any``: Wilson interval over prompts of "at least one of the k outputs
  failed" (``n`` is the number of prompts);
* ``cluster_bootstrap_prompts``: share of outputs, percentile bootstrap resampling whole
  prompts (clusters);
* ``bootstrap_prompt_mean``: mean of one value per prompt, bootstrap over prompts.

Profiles written before schema 2 have no ``method``; they still load, render and gate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROFILE_SCHEMA_VERSION = 2
WILSON_PROMPT_ANY = "wilson_prompt_any"
CLUSTER_BOOTSTRAP = "cluster_bootstrap_prompts"
BOOTSTRAP_PROMPT_MEAN = "bootstrap_prompt_mean"
DECLARED_NONE = "declared_none"  # not measured: the version declares there is nothing to measure


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
    method: str | None = None  # how the interval was computed; None before profile schema 2
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
    method: str | None = None,
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
        method=method,
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
    method: str | None = BOOTSTRAP_PROMPT_MEAN,
) -> Metric:
    """A mean (of one value per prompt) with its seeded bootstrap interval."""
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
        method=method,
        detail=detail or {},
    )


def prompt_rate_metric(
    category: str,
    name: str,
    failed: Sequence[bool],
    *,
    k: int,
    confidence: float = 0.95,
    detail: dict[str, Any] | None = None,
) -> Metric:
    """Share of prompts with at least one failing output among their k, Wilson over prompts.

    ``failed`` holds one flag per prompt ("any of its outputs failed"), so ``n`` counts
    prompts, not outputs: two always-failing prompts of 25 are 2/25, however large k is.
    """
    return rate_metric(
        category,
        name,
        sum(1 for flag in failed if flag),
        len(failed),
        confidence=confidence,
        method=WILSON_PROMPT_ANY,
        detail={"unit": "prompt", "k": k, **(detail or {})},
    )


def cluster_share_interval(
    failures: Sequence[int],
    totals: Sequence[int],
    *,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap for ``sum(failures) / sum(totals)``, resampling whole prompts."""
    import numpy as np

    fails, sizes = np.asarray(failures, dtype=float), np.asarray(totals, dtype=float)
    if sizes.size == 0 or sizes.sum() <= 0:
        return 0.0, 1.0
    share = float(fails.sum() / sizes.sum())
    if sizes.size == 1 or np.all(fails == 0) or np.all(fails == sizes):
        return share, share
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, sizes.size, size=(resamples, sizes.size))
    shares = fails[idx].sum(axis=1) / np.maximum(sizes[idx].sum(axis=1), 1.0)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(shares, [alpha, 1 - alpha])
    return float(low), float(high)


def cluster_share_metric(
    category: str,
    name: str,
    failures: Sequence[int],
    totals: Sequence[int],
    *,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
    detail: dict[str, Any] | None = None,
) -> Metric:
    """Share of failing outputs with a cluster bootstrap over prompts; ``n`` is prompts.

    With no prompt at all the interval is ``(0, 1)``: nothing was measured.
    """
    total = int(sum(totals))
    value = sum(failures) / total if total else 0.0
    low, high = cluster_share_interval(
        failures, totals, confidence=confidence, resamples=resamples, seed=seed
    )
    return Metric(
        category=category,
        name=name,
        value=value,
        n=len(totals),
        ci_low=min(low, value),
        ci_high=max(high, value),
        method=CLUSTER_BOOTSTRAP,
        detail={"unit": "prompt", "count": int(sum(failures)), "outputs": total, **(detail or {})},
    )
