"""Rollback drill benchmark: time to detect and time to revert per scenario, p50 over N
drills, on a throw-away project like the one `make demo` leaves (demo-chat 1.0.0 retired,
1.1.0 production, router on). Times are from the fault's onset; "revert" is when the
staging gateway stopped routing to the faulty version. Also printed: revert after
detection (the registry write + gateway follow) as a share of time to revert.

Run: ``.venv/bin/python benchmarks/bench_drills.py [--runs 10] [--quick]`` (``--quick``:
2 runs per scenario). Drill settings: 40 req/s, canary steps [25, 100], checks every 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from safeship.config import Settings
from safeship.demo import prepare as prep
from safeship.demo import train as tr
from safeship.drills import SCENARIOS, DrillOptions, run_drill
from safeship.params import Params, TrainParams, parse_params
from safeship.project import init_project
from safeship.registry.registration import register
from safeship.registry.store import Registry

ROOT = Path(__file__).resolve().parents[1]
MODEL = "demo-chat"
OPTIONS = {"rate": 40.0, "steps": [25, 100], "min_requests": 40, "check_interval_s": 0.5,
           "reference_s": 4.0, "settle_s": 0.5, "max_detect_s": 40.0}  # fmt: skip


def build_project(root: Path) -> Settings:
    root.mkdir(parents=True)
    for args in (["init", "-q"], ["config", "user.email", "b@example.com"],
                 ["config", "user.name", "bench"]):  # fmt: skip
        subprocess.run(["git", *args], cwd=root, check=True)
    os.environ.pop("SAFESHIP_HOME", None)
    os.environ.pop("SAFESHIP_DB_URL", None)
    settings = Settings.from_env(root)
    init_project(settings)
    data = root / "prepared"
    prepare = parse_params(
        {"prepare": {"source_dir": str(ROOT / "src/safeship/demo/data"),
                     "slices": ["cooking", "travel", "refusals"]}}, Path("params.yaml"),
    ).prepare  # fmt: skip
    prep.prepare(prepare, ROOT, data)
    with Registry.open(settings) as registry:
        for version, order in (("1.0.0", 3), ("1.1.0", 4)):
            dest = root / "models" / version
            tr.train(TrainParams(order=order), dest.parent, data_dir=data, model_dir=dest,
                     metrics_path=dest.parent / f"{version}.json")  # fmt: skip
            register(registry, model=MODEL, path=dest, version=version, author="ann", actor="ann")
            for status in ("validated", "gated", "approved"):
                registry.move_status(MODEL, version, status, actor="bench")
            registry.promote(MODEL, version, actor="bench", reason="bench")
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 runs per scenario")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    scenarios = args.scenarios.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-drills-") as tmp:
        settings = build_project(Path(tmp) / "project")
        print(f"rollback drills, {runs} runs per scenario, options {OPTIONS}")
        header = (f"{'scenario':<18} {'passed':>6} {'detect p50':>11} {'revert p50':>11} "
                  f"{'after-detect p50':>17} {'share':>6} {'affected p50':>13} {'wall p50':>9}")  # fmt: skip
        print(header)
        for scenario in scenarios:
            detect, revert, after, affected, wall = [], [], [], [], []
            passed = 0
            for _ in range(runs):
                began = time.perf_counter()
                report = run_drill(MODEL, scenario, settings=settings, params=Params(),
                                   options=DrillOptions(**OPTIONS))  # fmt: skip
                wall.append(time.perf_counter() - began)
                passed += report.outcome == "passed"
                if report.time_to_detect_s is not None and report.time_to_revert_s is not None:
                    detect.append(report.time_to_detect_s)
                    revert.append(report.time_to_revert_s)
                    after.append(report.revert_after_detect_s or 0.0)
                affected.append(report.requests_affected)

            def p50(values: list[float]) -> float:
                return statistics.median(values) if values else float("nan")

            share = p50(after) / p50(revert) if revert else float("nan")
            print(f"{scenario:<18} {passed:>3}/{runs:<2} {p50(detect):>10.2f}s {p50(revert):>10.2f}s "
                  f"{p50(after):>16.3f}s {share:>6.1%} {p50(affected):>13.0f} {p50(wall):>8.1f}s")  # fmt: skip


if __name__ == "__main__":
    main()
