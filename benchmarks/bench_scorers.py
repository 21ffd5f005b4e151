"""Scorer quality and throughput, and battery scaling, measured in this process.

    .venv/bin/python benchmarks/bench_scorers.py [--outputs 20000] [--quick]

0. Precision and recall of every detector on its labelled evaluation set (written for
   safeship, apart from the detector's training examples), next to the signal it replaced.
1. ``score_outputs`` (profanity + harassment + PII + refusal + compliance + sentiment +
   guardrails) on synthetic outputs: outputs per second against the 2,000/s target
   (first a warm-up call so imports and the classifier's training are not counted).
2. The battery with a fast in-process generator on the probe suite and on the suite
   doubled: time ratio (≈2 means linear scaling; fixed costs such as GX push it below).
Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

from safeship.models.base import Generation, GenerationRequest
from safeship.params import SafetyParams
from safeship.safety.battery import run_battery
from safeship.safety.compliance import is_harmful_compliance
from safeship.safety.evaluation import evaluate_detectors
from safeship.safety.pii import find_pii
from safeship.safety.probes import ProbeSuite, load_probes
from safeship.safety.refusal import is_refusal
from safeship.safety.scorers import (
    detector_scores,
    score_outputs,
    sentiment_scores,
    toxicity_scores,
)

# Mostly neutral words with some sentiment-bearing and a few abusive ones, roughly like
# chat-model output.
_VOCABULARY = (
    "the a an of to in on for with at from by about as is was are be have has it this that "
    "model answer people city river weather today tomorrow reply table report team meeting "
    "order train station street house window door water coffee book page number question "
    "time week month year morning evening plan note list line road car bus office school "
    "we you they he she i my your our their will would can could should may might "
    "good happy thanks lovely great sad bad terrible sorry help idiot stupid"
)
WORDS = _VOCABULARY.split()
# About a quarter of outputs carry PII and a few are refusals: a stress mix, not typical.
EXTRAS = (
    *([""] * 12),
    " Write to jane.doe@example.org soon.",
    " Call me at (415) 555-0132 tonight.",
    " My card is 4111 1111 1111 1111.",
    " I'm sorry, but I can't help with that.",
    " The server is at 10.0.0.12.",
)


def synthetic_outputs(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "."
            for _ in range(rng.randint(1, 3))
        ]
        texts.append(" ".join(sentences) + rng.choice(EXTRAS))
    return texts


class FastGenerator:
    """Deterministic in-process generator: a few sampled words per prompt."""

    name = "bench-fast"

    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        return [Generation(p, self._text(f"{request.seed}:{p}"), 8, 12, 0.0) for p in prompts]

    @staticmethod
    def _text(key: str) -> str:
        rng = random.Random(key)
        return " ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "."

    def close(self) -> None:
        return None


_BASELINE = """
import json, sys, time
from safeship.safety.scorers import score_outputs
texts = json.load(open(sys.argv[1]))
score_outputs(texts[:200])
best = float("inf")
for _ in range(3):
    start = time.perf_counter()
    score_outputs(texts)
    best = min(best, time.perf_counter() - start)
print(best)
"""


def baseline_seconds(source: str, texts: list[str]) -> float:
    """Best-of-3 ``score_outputs`` time of another checkout's ``src`` on the same texts."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(texts, handle)
    try:
        done = subprocess.run(
            [sys.executable, "-c", _BASELINE, handle.name],
            env={**os.environ, "PYTHONPATH": source},
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        )
    finally:
        os.unlink(handle.name)
    return float(done.stdout.strip().splitlines()[-1])


def doubled(suite: ProbeSuite) -> ProbeSuite:
    sets = {}
    for name, probe_set in suite.sets.items():
        extra = [p.model_copy(update={"id": p.id + "-x"}) for p in probe_set.probes]
        sets[name] = probe_set.model_copy(update={"probes": [*probe_set.probes, *extra]})
    return ProbeSuite(sets=sets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outputs", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="2,000 outputs, no battery runs")
    parser.add_argument(
        "--baseline-src",
        help="a checkout's src/ (e.g. of main) whose score_outputs is timed on the same texts",
    )
    args = parser.parse_args()
    if args.quick:
        args.outputs = 2_000
    params = SafetyParams()
    print("detector quality on the labelled evaluation sets (precision / recall / n):")
    for score in evaluate_detectors(params.harassment_score, params.toxic_score):
        print(
            f"  {score.detector:<38} P {score.precision:.2f}  R {score.recall:.2f}  n {score.n}"
            f"  (tp {score.tp}, fp {score.fp}, fn {score.fn})"
        )
    guardrails = SafetyParams().guardrails
    guardrails.blocked_keywords = ["kill yourself", "heil hitler"]

    texts = synthetic_outputs(args.outputs)
    score_outputs(texts[:200], guardrails)  # warm-up: imports and model load
    unique = len(set(texts))
    best = float("inf")
    for _ in range(3):  # best of three: the machine is shared, take the least-disturbed run
        start = time.perf_counter()
        frame = score_outputs(texts, guardrails)
        best = min(best, time.perf_counter() - start)
    print(
        f"score_outputs (best of 3): {len(texts)} outputs ({unique} distinct) in {best:.2f}s "
        f"= {len(texts) / best:,.0f} outputs/s, {len(texts) / best / 2000:.2f}x the 2,000/s target "
        f"(with PII {int(frame['pii'].sum())}, refusals {int(frame['refusal'].sum())})"
    )
    if args.baseline_src:
        base = baseline_seconds(args.baseline_src, texts)
        print(
            f"  baseline {args.baseline_src}: {len(texts) / base:,.0f} outputs/s; "
            f"this tree takes {best / base:.2f}x its time"
        )
    parts = {
        "profanity": lambda: toxicity_scores(texts),
        "prof+harass": lambda: detector_scores(texts),
        "compliance": lambda: [is_harmful_compliance(text) for text in texts],
        "sentiment": lambda: sentiment_scores(texts),
        "pii": lambda: [find_pii(text) for text in texts],
        "refusal": lambda: [is_refusal(text) for text in texts],
    }
    for name, run in parts.items():
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        print(f"  {name:<10} {len(texts) / elapsed:>10,.0f} outputs/s alone")
    repeated = texts[: len(texts) // 5] * 5
    start = time.perf_counter()
    score_outputs(repeated, guardrails)
    elapsed = time.perf_counter() - start
    print(
        f"score_outputs, k=5 repeats of each output: {len(repeated)} outputs "
        f"= {len(repeated) / elapsed:,.0f} outputs/s (identical outputs are scored once)"
    )

    if args.quick:
        return
    params = SafetyParams(k=5)
    suite = load_probes()
    heldout = [" ".join(random.Random(i).choice(WORDS) for _ in range(16)) for i in range(50)]
    records = [f"Please contact Sam Lee at sam{i}@example.com about order {i}." for i in range(50)]
    run_battery(FastGenerator(), params, probes=suite)  # warm-up: GX import
    timings = []
    for label, probes in (("1x", suite), ("2x", doubled(suite))):
        start = time.perf_counter()
        result = run_battery(
            FastGenerator(), params, probes=probes, training_records=records, heldout_texts=heldout
        )
        timings.append(time.perf_counter() - start)
        print(
            f"battery {label}: {len(result.outputs)} outputs in {timings[-1]:.2f}s "
            f"({len(result.outputs) / timings[-1]:,.0f} outputs/s)"
        )
    print(f"battery scaling 2x/1x time ratio: {timings[1] / timings[0]:.2f}")


if __name__ == "__main__":
    main()
