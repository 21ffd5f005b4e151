"""Scorer throughput and battery scaling, measured in this process. Prints; asserts nothing.

    .venv/bin/python benchmarks/bench_scorers.py [--outputs 20000]

1. ``score_outputs`` (toxicity + PII + refusal + sentiment + guardrails) on synthetic
   outputs: outputs per second (first a warm-up call so imports are not counted).
2. The battery with a fast in-process generator on the probe suite and on the suite
   doubled: time ratio (≈2 means linear scaling; fixed costs such as GX push it below).
"""

from __future__ import annotations

import argparse
import random
import time

from safeship.config import SafetyParams
from safeship.models.base import Generation, GenerationRequest
from safeship.safety.battery import run_battery
from safeship.safety.pii import find_pii
from safeship.safety.probes import ProbeSuite, load_probes
from safeship.safety.refusal import is_refusal
from safeship.safety.scorers import score_outputs, sentiment_scores, toxicity_scores

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


def doubled(suite: ProbeSuite) -> ProbeSuite:
    sets = {}
    for name, probe_set in suite.sets.items():
        extra = [p.model_copy(update={"id": p.id + "-x"}) for p in probe_set.probes]
        sets[name] = probe_set.model_copy(update={"probes": [*probe_set.probes, *extra]})
    return ProbeSuite(sets=sets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outputs", type=int, default=20_000)
    args = parser.parse_args()
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
        f"= {len(texts) / best:,.0f} outputs/s "
        f"(with PII {int(frame['pii'].sum())}, refusals {int(frame['refusal'].sum())})"
    )
    parts = {
        "toxicity": lambda: toxicity_scores(texts),
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
