"""Always-valid comparison of two event rates (canary vs stable) from counts.

The test conditions on the events: given that an event (an error, a toxic output, ...)
happened in a window where the canary served a share ``w`` of the requests, it came from
the canary with probability ``pi(r) = r*w / (r*w + 1 - w)``, where ``r`` is the ratio of
the canary's rate to the stable rate. Under the null (``r = 1``) that is just ``w``: the
stable rate, unknown and often near zero, drops out, and no normal approximation is
needed for tiny counts. Windows with different canary weights (the rollout's steps)
multiply.

The statistic is a likelihood ratio mixed over a grid of alternative ratios (a discrete
mixture SPRT, as in Robbins' method of mixtures). Under the null it is a non-negative
martingale with mean 1, so by Ville's inequality the chance that it *ever* reaches
``1/alpha`` — however often it is looked at — is at most ``alpha``. That is what lets the
rollout check every few seconds without inflating false rollbacks, and why a little
traffic yields "continue" rather than a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class Window:
    """Counts of one period with a fixed canary weight."""

    canary_n: int
    canary_events: int
    stable_n: int
    stable_events: int


@dataclass(frozen=True)
class RateTest:
    """The mixture SPRT's state for one metric."""

    e_value: float  # the mixture likelihood ratio; >= 1/alpha rejects "canary no worse"
    threshold: float
    rejected: bool
    canary_rate: float
    stable_rate: float
    canary_n: int
    stable_n: int


def _log_lr(windows: Sequence[Window], ratio: float) -> float:
    total = 0.0
    for w in windows:
        n = w.canary_n + w.stable_n
        if n == 0 or w.canary_n == 0 or w.stable_n == 0:
            continue  # no information about "which arm" without both arms
        share = w.canary_n / n
        pi = ratio * share / (ratio * share + 1 - share)
        total += w.canary_events * math.log(pi / share)
        total += w.stable_events * math.log((1 - pi) / (1 - share))
    return total


def mixture_e_value(windows: Sequence[Window], ratios: Sequence[float]) -> float:
    """The likelihood ratio averaged over ``ratios`` (a martingale under r = 1)."""
    logs = [_log_lr(windows, r) for r in ratios]
    top = max(logs)
    if top > 700:
        return math.inf
    return sum(math.exp(v) for v in logs) / len(logs)


def rate_test(windows: Sequence[Window], *, alpha: float, ratios: Sequence[float]) -> RateTest:
    """Test "the canary's rate exceeds stable's" on all ``windows`` so far."""
    cn = sum(w.canary_n for w in windows)
    ce = sum(w.canary_events for w in windows)
    sn = sum(w.stable_n for w in windows)
    se = sum(w.stable_events for w in windows)
    e_value = mixture_e_value(windows, ratios)
    threshold = 1 / alpha
    return RateTest(
        e_value=e_value,
        threshold=threshold,
        rejected=e_value >= threshold,
        canary_rate=ce / cn if cn else 0.0,
        stable_rate=se / sn if sn else 0.0,
        canary_n=cn,
        stable_n=sn,
    )


def fixed_sample_size(
    p_stable: float, p_canary: float, share: float, *, alpha: float, power: float
) -> int:
    """Canary requests a one-shot one-sided two-proportion z-test needs (the baseline the
    sequential test is benchmarked against), with the canary serving ``share`` of traffic."""
    z_a = NormalDist().inv_cdf(1 - alpha)
    z_b = NormalDist().inv_cdf(power)
    k = (1 - share) / share  # stable requests per canary request
    pbar = (p_canary + k * p_stable) / (1 + k)
    null_sd = math.sqrt(pbar * (1 - pbar) * (1 + 1 / k))
    alt_sd = math.sqrt(p_canary * (1 - p_canary) + p_stable * (1 - p_stable) / k)
    n = ((z_a * null_sd + z_b * alt_sd) / (p_canary - p_stable)) ** 2
    return math.ceil(n)
