"""Always-valid comparison of canary and stable with the **caller** as the unit.

The gateway routes whole callers: a caller's bucket ``sha256(model + caller) % 100`` puts
it on the canary when the bucket is below the weight. So requests are not independent
draws of an arm — one busy caller that often trips a detector lands wholly in one arm —
and a test that treats each flagged request as an independent coin (the earlier
mixture SPRT) rolls back far more often than its alpha when a few callers produce most
flags (12% instead of 1.25% in the issue-12 simulation).

What *is* random is the caller's bucket, and it is independent of how the caller
behaves. This test therefore looks only at each caller's **first** flagged request of
each step (its first error, toxic answer, slow answer, ...; see :func:`first_flags` for
what earlier steps tell about the caller's bucket). When a caller is flagged
for the first time during a step of weight ``w``, under the null (the candidate behaves
like production) it is on the canary with probability exactly ``w / 100`` (a caller not seen in earlier steps): nothing seen
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

The same coins also tell when the rollout has seen **enough** of a signal to move on
(the other boundary of Wald's sequential test). The likelihood ratio of "no rise"
against "a ``rise``-fold rise" (the largest of ``canary.ratios``, or the signal's
``allowed_ratio`` when that is larger) grows as
newly flagged callers keep landing on the canary no more often than its weight says;
under a real ``rise``-fold (or larger) rise it is a supermartingale with mean <= 1, so by
Ville's inequality the chance it *ever* reaches ``1/beta`` is at most ``beta``. A step
may pass only once that has happened for every signal that flagged any caller, so a
rare harm, whose first flags arrive slowly, keeps its step collecting instead of
passing on ``min_requests`` alone. The evidence is one sequence over the whole rollout
(the candidate is the same at every step), so what an early step collected carries
over.
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
    rise: float = 0.0  # the rise the evidence must rule out before a step passes
    rise_e_value: float = 1.0  # >= 1/beta: a ``rise``-fold rise is ruled out
    rise_ruled_out: bool = True  # or no caller was ever flagged (nothing to multiply)


def first_flags(
    callers: npt.NDArray[np.int64],
    flags: npt.NDArray[np.bool_],
    canary: npt.NDArray[np.bool_],
    weights: npt.NDArray[np.float64],
    steps: npt.NDArray[np.int64] | None = None,
) -> FirstFlags:
    """The first flagged row of every caller in every step (rows in time order), with the
    null chance that it is on the canary given what earlier steps showed of the caller's
    bucket: a caller seen on the canary before is surely on it (no evidence); one seen
    only on stable up to weight ``v`` has a bucket uniform in ``[v, 100)``, so at weight
    ``w`` it is on the canary with ``(w - v) / (100 - v)``; one not seen before, ``w / 100``.
    Each step thus brings fresh coins (a long step no longer uses up the callers)."""
    import numpy as np

    if steps is None:
        steps = np.zeros(len(callers), dtype=np.int64)
    index = np.flatnonzero(flags)
    keys = callers[index] * (int(steps.max(initial=0)) + 1) + steps[index]
    _, first = np.unique(keys, return_index=True)
    rows = index[np.sort(first)]
    p = weights[rows] / 100.0
    size = int(callers.max(initial=0)) + 1
    for step in np.unique(steps[rows]):
        before = steps < step
        if not before.any():
            continue
        seen_canary = np.zeros(size, dtype=bool)
        seen_canary[callers[before & canary]] = True
        stable_up_to = np.zeros(size)
        np.maximum.at(stable_up_to, callers[before & ~canary], weights[before & ~canary])
        here = steps[rows] == step
        who = callers[rows[here]]
        low = stable_up_to[who]
        p[here] = np.where(seen_canary[who], 1.0, (weights[rows[here]] - low) / (100.0 - low))
    return FirstFlags(canary=canary[rows], p=p)


def _log_ratios(flags: FirstFlags, ratios: Sequence[float]) -> list[float] | None:
    """log likelihood ratio of the first flags' arms for each ratio (None: no coin)."""
    import numpy as np

    inside = (flags.p > 0.0) & (flags.p < 1.0)  # p = 0 or 1: the arm was certain
    p, canary = flags.p[inside], flags.canary[inside]
    if len(p) == 0:
        return None
    logs: list[float] = []
    for ratio in ratios:
        pi = ratio * p / (ratio * p + 1.0 - p)
        terms = np.where(canary, np.log(pi / p), np.log((1.0 - pi) / (1.0 - p)))
        logs.append(float(terms.sum()))
    return logs


def _exp(value: float) -> float:
    return math.inf if value > 700 else math.exp(value)


def mixture_e_value(flags: FirstFlags, ratios: Sequence[float]) -> float:
    """The likelihood ratio of the first flags' arms, averaged over ``ratios``."""
    logs = _log_ratios(flags, ratios)
    if logs is None:
        return 1.0
    return sum(_exp(v) for v in logs) / len(logs)


def rise_e_value(flags: FirstFlags, rise: float) -> float:
    """The likelihood ratio of "no rise" against a ``rise``-fold rise (None coins: 1)."""
    logs = _log_ratios(flags, [rise])
    return 1.0 if logs is None else _exp(-logs[0])


def caller_test(
    flags: FirstFlags, *, alpha: float, ratios: Sequence[float], beta: float, rise: float
) -> CallerTest:
    """Test "callers on the canary get flagged faster than callers on stable", and say
    whether a ``rise``-fold rise is ruled out at level ``beta``."""
    e_value = mixture_e_value(flags, ratios)
    threshold = 1.0 / alpha
    against = rise_e_value(flags, rise)
    coins = bool(((flags.p > 0.0) & (flags.p < 1.0)).any())
    return CallerTest(
        rise=rise,
        rise_e_value=against,
        rise_ruled_out=against >= 1.0 / beta or not coins,
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
