"""Always-valid comparison of canary and stable with the **caller** as the unit.

The gateway routes whole callers: a caller's bucket ``sha256(model + caller) % 100`` puts
it on the canary when the bucket is below the weight. So requests are not independent
draws of an arm — one busy caller that often trips a detector lands wholly in one arm —
and a test that treats each flagged request as an independent coin (the earlier
mixture SPRT) rolls back far more often than its alpha when a few callers produce most
flags (12% instead of 1.25% in the issue-12 simulation).

What *is* random is the caller's bucket, and it is independent of how the caller
behaves. This test therefore looks only at each caller's **first** flagged request of
the rollout (its first error, toxic answer, slow answer, ...). When a caller is flagged
for the first time during a step of weight ``w``, under the null (the candidate behaves
like production) it is on the canary with probability exactly ``w / 100``: nothing seen
before — its own unflagged requests are not part of the evidence — says anything about
its bucket. So the sequence of "which arm was this newly flagged caller on" is a
sequence of independent coins with known biases, however unevenly callers behave.

Under the alternative a canary caller gets flagged ``r`` times faster, so a newly
flagged caller is on the canary with ``pi(r) = r*p / (r*p + 1 - p)``. The statistic
is the likelihood ratio of those coins, mixed over a grid of ``r`` (Robbins' method of
mixtures). Under the null it is a non-negative martingale with mean 1, so by Ville's
inequality the chance it *ever* reaches ``1/alpha`` is at most ``alpha``, however often
it is looked at and whatever the callers' activity. At weight 100 a newly flagged caller
is surely on the canary (``p = 1``): it adds no evidence, as it should — there is no
concurrent stable arm to compare with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True)
class FirstFlags:
    """Each caller's first flagged request: its arm and the null chance of the canary."""

    canary: npt.NDArray[np.bool_]
    p: npt.NDArray[np.float64]

    @property
    def callers(self) -> int:
        return len(self.p)


@dataclass(frozen=True)
class CallerTest:
    """The mixture test's state for one metric."""

    e_value: float  # >= threshold rejects "the canary flags callers no faster than stable"
    threshold: float
    rejected: bool
    flagged_canary: int  # callers whose first flag was on the canary
    flagged_stable: int
    expected_canary: float  # ... and how many of them the null expects on the canary


def first_flags(
    callers: npt.NDArray[np.int64],
    flags: npt.NDArray[np.bool_],
    canary: npt.NDArray[np.bool_],
    weights: npt.NDArray[np.float64],
) -> FirstFlags:
    """The first flagged row of every caller (rows in time order)."""
    import numpy as np

    index = np.flatnonzero(flags)
    _, first = np.unique(callers[index], return_index=True)
    rows = index[np.sort(first)]
    return FirstFlags(canary=canary[rows], p=weights[rows] / 100.0)


def mixture_e_value(flags: FirstFlags, ratios: Sequence[float]) -> float:
    """The likelihood ratio of the first flags' arms, averaged over ``ratios``."""
    import numpy as np

    inside = (flags.p > 0.0) & (flags.p < 1.0)  # p = 0 or 1: the arm was certain
    p, canary = flags.p[inside], flags.canary[inside]
    if len(p) == 0:
        return 1.0
    logs: list[float] = []
    for ratio in ratios:
        pi = ratio * p / (ratio * p + 1.0 - p)
        terms = np.where(canary, np.log(pi / p), np.log((1.0 - pi) / (1.0 - p)))
        logs.append(float(terms.sum()))
    top = max(logs)
    if top > 700:
        return math.inf
    return sum(math.exp(v) for v in logs) / len(logs)


def caller_test(flags: FirstFlags, *, alpha: float, ratios: Sequence[float]) -> CallerTest:
    """Test "callers on the canary get flagged faster than callers on stable"."""
    e_value = mixture_e_value(flags, ratios)
    threshold = 1.0 / alpha
    return CallerTest(
        e_value=e_value,
        threshold=threshold,
        rejected=e_value >= threshold,
        flagged_canary=int(flags.canary.sum()),
        flagged_stable=int((~flags.canary).sum()),
        expected_canary=float(flags.p.sum()),
    )


def fixed_sample_size(
    p_stable: float, p_canary: float, share: float, *, alpha: float, power: float
) -> int:
    """Canary requests a one-shot one-sided two-proportion z-test needs (the baseline the
    sequential test is benchmarked against), with the canary serving ``share`` of traffic.
    It treats requests as independent, so it is the *most* optimistic fixed design."""
    z_a = NormalDist().inv_cdf(1 - alpha)
    z_b = NormalDist().inv_cdf(power)
    k = (1 - share) / share  # stable requests per canary request
    pbar = (p_canary + k * p_stable) / (1 + k)
    null_sd = math.sqrt(pbar * (1 - pbar) * (1 + 1 / k))
    alt_sd = math.sqrt(p_canary * (1 - p_canary) + p_stable * (1 - p_stable) / k)
    n = ((z_a * null_sd + z_b * alt_sd) / (p_canary - p_stable)) ** 2
    return math.ceil(n)
