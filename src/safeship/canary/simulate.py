"""Seeded rollouts of simulated traffic through the shipped loop (:func:`run_rollout`).

Callers are routed as the gateway routes them (:func:`safeship.gateway.routing.bucket`,
sticky per caller) and behave unevenly: activity is log-normal, and each caller has its
own chance of each flag (a few callers may produce most PII-flagged answers) and its own
latency level. Only the text scoring is replaced by the simulated flags; everything from
reading the window to acting on the verdict is the code that ships. The A/A and power
tests (tests/unit/test_canary_simulation.py) and benchmarks/bench_canary.py use this.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from safeship.canary.observations import FLAGS
from safeship.canary.rollout import Effects, RolloutResult, run_rollout

if TYPE_CHECKING:
    import pandas as pd

    from safeship.canary.analysis import Verdict
    from safeship.params import CanaryParams

MODEL = "sim-model"


@dataclass(frozen=True)
class Cluster:
    """A share of callers whose requests carry ``flag`` at ``rate`` (others: the base)."""

    flag: str
    share: float
    rate: float


@dataclass(frozen=True)
class CallerMix:
    """How callers behave: base flag rates, activity spread, clusters, latency spread."""

    callers: int = 400
    activity_sigma: float = 1.0  # log-normal sigma of requests per caller (0: alike)
    base: dict[str, float] = field(default_factory=lambda: {
        "error": 0.005, "toxic": 0.01, "pii": 0.0005, "guardrail": 0.005,
        "refusal": 0.03, "low_quality": 0.01})  # fmt: skip
    clusters: tuple[Cluster, ...] = ()
    caller_latency_sigma: float = 0.3  # callers differ in latency level (prompt length)
    request_latency_sigma: float = 0.5  # heavy-ish tail per request


MIXES: dict[str, CallerMix] = {
    "alike": CallerMix(activity_sigma=0.0, caller_latency_sigma=0.0),
    "lognormal": CallerMix(),
    "pii_5pct_callers": CallerMix(clusters=(Cluster("pii", 0.05, 0.10),)),
    "pii_2pct_callers": CallerMix(clusters=(Cluster("pii", 0.02, 0.30),)),
    "harsh_1pct_callers": CallerMix(
        activity_sigma=1.5,
        caller_latency_sigma=0.6,
        request_latency_sigma=0.8,
        clusters=(
            Cluster("pii", 0.01, 0.6),
            Cluster("toxic", 0.02, 0.3),
            Cluster("refusal", 0.03, 0.5),
            Cluster("error", 0.01, 0.3),
            Cluster("low_quality", 0.02, 0.4),
            Cluster("guardrail", 0.01, 0.4),
        ),
    ),  # fmt: skip
}


@dataclass(frozen=True)
class Change:
    """What the candidate does differently: flag rates multiplied, latency multiplied."""

    rate_factor: dict[str, float] = field(default_factory=dict)
    latency_factor: float = 1.0


class SimTraffic:
    """A virtual clock and request log: ``rate`` requests/s from the mix's callers."""

    def __init__(self, mix: CallerMix, change: Change, seed: int, rate: float) -> None:
        import numpy as np

        from safeship.gateway.routing import bucket

        self.rng = np.random.default_rng(seed)
        self.mix, self.change, self.rate, self.t, self.weight = mix, change, rate, 0.0, 0
        n = mix.callers
        self.names = np.array([f"sim-{seed}-{i}" for i in range(n)])
        self.buckets = np.array([bucket(MODEL, str(name)) for name in self.names])
        activity = self.rng.lognormal(0.0, mix.activity_sigma, n) if mix.activity_sigma else None
        self.activity = (activity / activity.sum()) if activity is not None else np.full(n, 1 / n)
        self.rates = {f: np.full(n, mix.base.get(f, 0.0)) for f in FLAGS}
        for cluster in mix.clusters:
            chosen = self.rng.choice(n, size=max(1, round(cluster.share * n)), replace=False)
            self.rates[cluster.flag][chosen] = cluster.rate
        self.latency_level = 40.0 * self.rng.lognormal(0.0, mix.caller_latency_sigma, n)
        self.chunks: list[tuple[float, pd.DataFrame]] = []
        self.served = 0

    def wait(self, seconds: float) -> int:
        import numpy as np
        import pandas as pd

        count = int(self.rng.poisson(self.rate * seconds))
        who = self.rng.choice(self.mix.callers, size=count, p=self.activity)
        canary = self.buckets[who] < self.weight
        times = np.sort(self.t + self.rng.random(count) * seconds)
        frame: dict[str, Any] = {
            "request_id": [f"r{self.served + i}" for i in range(count)],
            "ts": times,
            "role": np.where(canary, "canary", "stable"), "version": np.where(canary, "c", "s"),
            "user_hash": self.names[who], "output": None, "status": 200,
        }  # fmt: skip
        for flag in FLAGS:
            p = self.rates[flag][who] * np.where(canary, self.change.rate_factor.get(flag, 1), 1)
            frame[flag] = self.rng.random(count) < np.minimum(p, 1.0)
        slow = np.where(canary, self.change.latency_factor, 1.0)
        jitter = self.rng.lognormal(0.0, self.mix.request_latency_sigma, count)
        frame["latency_ms"] = self.latency_level[who] * jitter * slow
        self.chunks.append((self.t, pd.DataFrame(frame)))
        self.served += count
        self.t += seconds
        return 0

    def read(self, since: float, until: float) -> pd.DataFrame:
        import pandas as pd

        frames = [f for start, f in self.chunks if since <= start < until]
        return pd.concat(frames, ignore_index=True) if frames else self.chunks[-1][1].iloc[:0]

    def set_weight(self, weight: int) -> float:
        self.weight = weight
        self.chunks = []  # earlier steps are read no more
        return self.t


def flags_scorer(rows: pd.DataFrame) -> pd.DataFrame:
    """The simulated flags as the scorer's output (no text, so no drift descriptors)."""
    return rows[list(FLAGS)].reset_index(drop=True)


def simulate(
    params: CanaryParams, mix: CallerMix, change: Change, seed: int, *, rate: float = 50.0
) -> RolloutResult:
    """One seeded rollout of ``params`` with simulated traffic, through the shipped loop."""
    traffic = SimTraffic(mix, change, seed, rate)
    checks: list[Verdict] = []
    effects = Effects(
        now=lambda: traffic.t, wait=traffic.wait, read=traffic.read,
        set_weight=traffic.set_weight, abort=lambda reason, payload, reject: None,
        record=checks.append,
    )  # fmt: skip
    return run_rollout(params, "c", effects, flags_scorer)


def canary_requests(result: RolloutResult) -> int:
    """Canary requests the rollout served up to its decision."""
    return sum(int(step["canary_n"]) for step in result.steps)


def rollback_rate(
    params: CanaryParams, mix: CallerMix, change: Change, runs: int, *, seed: int = 0
) -> tuple[float, list[str]]:
    """Share of ``runs`` seeded rollouts that rolled back, and the metrics that did it."""
    metrics: list[str] = []
    for run in range(runs):
        result = simulate(params, mix, change, seed + run)
        if result.outcome == "rolled_back" and result.verdict and result.verdict.breach:
            metrics.append(result.verdict.breach.metric)
    return len(metrics) / runs, metrics


def with_callers(mix: CallerMix, callers: int) -> CallerMix:
    return replace(mix, callers=callers)
