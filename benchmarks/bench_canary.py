"""Canary benchmarks through the shipped rollout loop (:mod:`safeship.canary.simulate`).

1. A/A false rollbacks per caller mix: whole rollouts (steps 5/25/50/100, production's
   ``canary`` params) with identical arms, callers routed stickily as the gateway does,
   log-normal activity, and clusters of callers producing most flags (see ``MIXES``).
   All seven tests (six rates and latency) count. Target <= 1% in every mix.
2. Requests to detect toxicity 1% -> 5% with the sequential test at the 5% and 50% steps,
   as a ratio to a fixed-sample one-sided two-proportion z-test at the same alpha (per
   test) and the same power (the power the sequential test reached, at most 0.99). The
   fixed test treats requests as independent, i.e. it is the most optimistic fixed design.
   Checks come every 10 canary requests; 4000 callers (log-normal activity), and, for
   comparison, the 400-caller population of the A/A runs. Target <= 0.6.
3. Rare harm: PII 0.05% -> 0.5% (10x, 0.45 points): share of rollouts rolled back, and
   canary requests needed.
4. Latency x3 on the canary: share rolled back and the step it happened at.
5. (full run only) Evidently drift report time at 1k and 10k rows per side.

Run: ``.venv/bin/python benchmarks/bench_canary.py [--quick] [--json]``; ``--quick``:
200 A/A runs per mix (about 6 minutes on a shared 2-core machine), else 500.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from safeship.canary.analysis import TESTS
from safeship.canary.sequential import fixed_sample_size
from safeship.canary.simulate import MIXES, Change, canary_requests, rollback_rate, simulate
from safeship.params import CanaryParams


def aa(runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, mix in MIXES.items():
        rate, metrics = rollback_rate(CanaryParams(), mix, Change(), runs, seed=100_000)
        out[name] = {"rate": rate, "runs": runs, "metrics": metrics}
    return out


def requests_ratio(weight: int, callers: int, runs: int) -> dict[str, Any]:
    """Sequential canary requests to detect 1% -> 5% toxicity vs the fixed-sample test."""
    base = CanaryParams()
    rate = 10 * 100 / weight / base.check_interval_s  # 10 canary requests per check
    cap_s = 3000 * 100 / weight / rate  # stop after ~3000 canary requests
    params = base.model_copy(update={"steps": [weight], "min_requests": 10**9,
                                     "max_step_duration_s": cap_s})  # fmt: skip
    mix = replace(MIXES["lognormal"], callers=callers)
    change = Change(rate_factor={"toxic": 5.0})
    results = [simulate(params, mix, change, seed, rate=rate) for seed in range(runs)]
    needed = [canary_requests(r) for r in results]
    power = sum(r.outcome == "rolled_back" for r in results) / runs
    alpha = base.alpha / TESTS
    fixed = fixed_sample_size(0.01, 0.05, weight / 100, alpha=alpha, power=min(power, 0.99))
    return {"ratio": round(statistics.mean(needed) / fixed, 3), "power": power,
            "mean_n": statistics.mean(needed), "median_n": statistics.median(needed),
            "fixed_n": fixed, "alpha_per_test": alpha, "callers": callers, "runs": runs}  # fmt: skip


def change_detected(change: Change, params: CanaryParams, runs: int, rate: float) -> dict[str, Any]:
    results = [simulate(params, MIXES["lognormal"], change, s, rate=rate) for s in range(runs)]
    rolled = [r for r in results if r.outcome == "rolled_back"]
    return {"rolled_back": len(rolled) / runs, "runs": runs,
            "median_canary_requests": statistics.median(canary_requests(r) for r in rolled)
            if rolled else None,
            "steps": sorted({r.steps[-1]["weight"] for r in rolled}),
            "metrics": sorted({r.verdict.breach.metric for r in rolled
                               if r.verdict and r.verdict.breach})}  # fmt: skip


def evidently_scaling() -> dict[str, float]:
    import pandas as pd

    from safeship.monitoring.drift import drift_report

    rng = np.random.default_rng(0)

    def frame(n: int, shift: float) -> pd.DataFrame:
        return pd.DataFrame({"chars": rng.normal(120 + shift, 30, n),
                             "words": rng.normal(22, 5, n), "toxicity": rng.beta(1, 30, n),
                             "sentiment": rng.normal(0.2, 0.3, n)})  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        drift_report(frame(200, 0), frame(200, 0), Path(tmp) / "warm")  # imports
        times: dict[str, float] = {}
        for n in (1000, 10_000):
            samples = []
            for i in range(3):
                started = time.perf_counter()
                drift_report(frame(n, 0), frame(n, 10), Path(tmp) / f"r{n}-{i}")
                samples.append(time.perf_counter() - started)
            times[f"{n}_rows_s"] = round(statistics.median(samples), 3)
    times["ratio_10k_1k"] = round(times["10000_rows_s"] / times["1000_rows_s"], 2)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 A/A runs per mix")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    aa_runs, power_runs = (200, 60) if args.quick else (500, 200)
    started = time.perf_counter()
    result: dict[str, Any] = {"quick": args.quick}
    aa_detail = aa(aa_runs)
    result["aa_false_rollback"] = {name: d["rate"] for name, d in aa_detail.items()}
    ratios = {str(w): requests_ratio(w, 4000, power_runs) for w in (5, 50)}
    result["requests_ratio"] = {w: r["ratio"] for w, r in ratios.items()}
    small = {str(w): requests_ratio(w, 400, power_runs // 2) for w in (5, 50)}
    result["requests_ratio_400_callers"] = {w: r["ratio"] for w, r in small.items()}
    rare = CanaryParams(steps=[25, 50, 100], min_requests=4000)
    result["rare_harm_10x"] = change_detected(Change(rate_factor={"pii": 10.0}), rare,
                                              power_runs // 2, rate=200)  # fmt: skip
    result["rare_harm_10x_default_params"] = change_detected(
        Change(rate_factor={"pii": 10.0}), CanaryParams(), power_runs // 2, rate=50
    )
    result["latency_x3"] = change_detected(Change(latency_factor=3.0), CanaryParams(),
                                           power_runs // 2, rate=50)  # fmt: skip
    result["detail"] = {"aa": aa_detail, "requests": ratios, "requests_400_callers": small}
    if not args.quick:
        result["evidently"] = evidently_scaling()
    result["wall_s"] = round(time.perf_counter() - started, 1)
    if args.json:
        json.dump(result, sys.stdout, default=str)
        print()
        return
    print(json.dumps({k: v for k, v in result.items() if k != "detail"}, indent=1, default=str))


if __name__ == "__main__":
    main()
