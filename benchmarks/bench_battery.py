"""Full safety battery on the clean demo-chat: wall time against a baseline source tree.

Builds the demo pipeline once (``dvc repro`` in a temporary copy), then runs
``run_battery`` + ``evaluate_gate(..., "medium")`` in fresh subprocesses, alternating the
baseline tree (``--baseline-src``: ``git archive main src params.yaml | tar -x -C
/tmp/base``; each tree reads the ``params.yaml`` beside its ``src``)
and this tree, and prints each run's battery time (imports excluded), outputs, the gate
result and the median ratio.

    .venv/bin/python benchmarks/bench_battery.py --baseline-src /tmp/base/src --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = """
import json, sys, time
from pathlib import Path
from safeship.models.ngram import NgramGenerator
from safeship.params import load_params
from safeship.release.gate import evaluate_gate
from safeship.safety.battery import run_battery
root = Path(sys.argv[1])
params = load_params(Path(sys.argv[2]))  # each tree reads its own params.yaml
model = NgramGenerator.load(root / "models/demo-chat")
read = lambda name: [json.loads(x) for x in (root / name).read_text().splitlines() if x]
train, held = read("data/prepared/corpus.jsonl"), read("data/prepared/heldout.jsonl")
started = time.perf_counter()
result = run_battery(model, params.safety, training_records=train,
                     heldout_texts=[r["response"] for r in held])
seconds = time.perf_counter() - started
gate = evaluate_gate(result.metrics, None, params.safety, "medium")
print(json.dumps({"seconds": seconds, "outputs": len(result.outputs), "passed": gate.passed}))
"""


def build(dest: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.helpers import make_pipeline_copy, repro

    done = repro(dest, make_pipeline_copy(dest))
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)


def run(src: Path, project: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(project), str(src.parent)],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "demo"
        project.mkdir()
        build(project)
        ratios = []
        for round_ in range(args.rounds):
            base = run(args.baseline_src.resolve(), project)
            this = run(ROOT / "src", project)
            ratios.append(this["seconds"] / base["seconds"])
            print(
                f"round {round_ + 1}: baseline {base['seconds']:.1f} s ({base['outputs']:.0f} "
                f"outputs, gate {base['passed']}), this tree {this['seconds']:.1f} s "
                f"({this['outputs']:.0f} outputs, gate {this['passed']}): {ratios[-1]:.2f}x"
            )
    print(f"median ratio {statistics.median(ratios):.2f}x (target <= 3x); load {os.getloadavg()}")


if __name__ == "__main__":
    main()
