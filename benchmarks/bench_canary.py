"""Canary benchmarks (ratios, no assertions).

1. Requests needed to detect toxicity 1% -> 5% with the sequential test (mixture SPRT,
   checked every 5 canary requests, truncated at N_max), as a ratio to the fixed-sample
   one-sided two-proportion z-test at the same alpha and the same power (the power the
   truncated sequential test reaches). Canary share 5% (the first step) and 50%.
2. Evidently drift report time at 1k and 10k rows per side, as a ratio to 1k.

Run: ``.venv/bin/python benchmarks/bench_canary.py`` (about a minute).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from safeship.canary.sequential import Window, fixed_sample_size, mixture_e_value
from safeship.config import CanaryParams

RUNS = 400


def sequential_run(
    p0: float, p1: float, share: float, alpha: float, ratios: list[float], cap: int, seed: int
) -> tuple[int, bool]:
    rng = np.random.default_rng(seed)
    cn = ce = sn = se = 0
    chunk = 5
    stable_chunk = round(chunk * (1 - share) / share)
    while cn < cap:
        cn += chunk
        sn += stable_chunk
        ce += int(rng.binomial(chunk, p1))
        se += int(rng.binomial(stable_chunk, p0))
        if mixture_e_value([Window(cn, ce, sn, se)], ratios) >= 1 / alpha:
            return cn, True
    return cn, False


def detection() -> None:
    params = CanaryParams()
    alpha = params.alpha / 4  # the per-rate level the rollout uses
    print(f"toxicity 1% -> 5%, alpha {alpha:.4f} per rate, ratios {params.ratios}, {RUNS} runs")
    print("share  N_max  power  mean_n  median_n  fixed_n(same alpha, power)  ratio(mean)")
    for share in (0.05, 0.5):
        for cap in (250, 400):
            runs = [
                sequential_run(0.01, 0.05, share, alpha, params.ratios, cap, s) for s in range(RUNS)
            ]
            power = sum(hit for _, hit in runs) / RUNS
            mean_n = statistics.mean(n for n, _ in runs)
            median_n = statistics.median(n for n, _ in runs)
            fixed = fixed_sample_size(0.01, 0.05, share, alpha=alpha, power=min(power, 0.999))
            print(
                f"{share:5.2f}  {cap:5d}  {power:5.3f}  {mean_n:6.1f}  {median_n:8.1f}  "
                f"{fixed:26d}  {mean_n / fixed:11.2f}"
            )
    # false rollbacks under the null (A/A at 1%), same checks
    false = sum(
        sequential_run(0.01, 0.01, 0.05, alpha, params.ratios, 2000, s)[1] for s in range(RUNS)
    )
    print(f"A/A at 1%: false rejections {false}/{RUNS} (bound alpha = {alpha:.4f})")


def evidently_scaling() -> None:
    import pandas as pd

    from safeship.monitoring.drift import drift_report

    rng = np.random.default_rng(0)

    def frame(n: int, shift: float) -> pd.DataFrame:
        return pd.DataFrame({
            "chars": rng.normal(120 + shift, 30, n), "words": rng.normal(22, 5, n),
            "toxicity": rng.beta(1, 30, n), "sentiment": rng.normal(0.2, 0.3, n),
            "pii": rng.random(n) < 0.01, "refusal": rng.random(n) < 0.05,
            "guardrail_violation": rng.random(n) < 0.01, "empty": rng.random(n) < 0.01,
        })  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        drift_report(frame(200, 0), frame(200, 0), Path(tmp) / "warm")  # imports
        times: dict[int, float] = {}
        for n in (1000, 10_000):
            samples = []
            for i in range(3):
                ref, cur = frame(n, 0), frame(n, 10)
                started = time.perf_counter()
                drift_report(ref, cur, Path(tmp) / f"r{n}-{i}")
                samples.append(time.perf_counter() - started)
            times[n] = statistics.median(samples)
        print(
            f"Evidently drift report (8 descriptor columns, HTML+JSON): 1k rows/side "
            f"{times[1000]:.2f} s, 10k rows/side {times[10_000]:.2f} s; "
            f"ratio 10k/1k = {times[10_000] / times[1000]:.2f} (10x the rows)"
        )


if __name__ == "__main__":
    detection()
    evidently_scaling()
