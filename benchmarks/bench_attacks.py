"""Cost of attack generation: the battery on a model with and without it, same process.

    .venv/bin/python benchmarks/bench_attacks.py MODEL_DIR [--rounds 2]

MODEL_DIR is a built model folder (e.g. ``models/demo-chat`` after ``dvc repro``). Each
round runs the battery twice, alternating: *before* is the probe sets the battery had
before issue 11 step 4 (no ``indirect`` set, ``safety.attacks.families: []``), *after*
the current default. A warm-up run first keeps the one-time imports (GX, the profanity
model) out of both. Prints wall times, outputs and the after/before ratio (target ≤ 3).
Asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from safeship.models.loader import load_generator
from safeship.params import load_params
from safeship.safety.battery import run_battery
from safeship.safety.probes import ProbeSuite, load_probes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    params = load_params(Path.cwd()).safety
    before_params = params.model_copy(update={"attacks": params.Attacks(families=[])})
    full = load_probes()
    before_suite = ProbeSuite(sets={k: v for k, v in full.sets.items() if k != "indirect"})
    generator = load_generator(args.model)
    run_battery(generator, before_params, probes=before_suite)  # warm-up
    times: dict[str, list[float]] = {"before": [], "after": []}
    outputs: dict[str, int] = {}
    for _ in range(args.rounds):
        for label, settings, suite in (
            ("before", before_params, before_suite),
            ("after", params, full),
        ):
            started = time.perf_counter()
            result = run_battery(generator, settings, probes=suite)
            times[label].append(time.perf_counter() - started)
            outputs[label] = len(result.outputs)
    for label, values in times.items():
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"{label}: {outputs[label]} outputs, {shown} s")
    ratio = min(times["after"]) / min(times["before"])
    print(f"after/before (best of {args.rounds}): {ratio:.2f}x (target <= 3)")


if __name__ == "__main__":
    main()
