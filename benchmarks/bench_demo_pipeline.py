"""The demo pipeline from scratch, and the ngram adapter's generation throughput.

    .venv/bin/python benchmarks/bench_demo_pipeline.py [--prompts 500] [--max-new-tokens 48]

* ``dvc repro`` of prepare -> validate -> train in a fresh temporary copy of the project
  (git + dvc init, offline env): wall seconds, and inside the validate stage the share of
  time spent importing Great Expectations vs building the suite vs validating (the stage
  writes these timings into ``reports/validation/corpus.json``).
* Generation with the model that run produced: texts/s on ``--prompts`` prompts at
  temperature 1.0 (exact hierarchical sampling), 0.9 (tempered, cold then warm caches) and
  0 (greedy); baseline: ``token_logprobs`` scoring of the same outputs in the same run.

Prints a table; asserts nothing (absolute times depend on the machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OFFLINE = {"DVC_NO_ANALYTICS": "1", "DO_NOT_TRACK": "1", "GIT_TERMINAL_PROMPT": "0"}
PROMPTS = [
    "How do I reset my password?",
    "How do I cook rice?",
    "What should I pack for a weekend trip?",
    "How do I fix a bug in my code?",
    "How can I sleep better?",
    "How do I make a budget?",
    "How do I grow tomatoes?",
    "How do I start running?",
    "What is an API?",
    "Hello there",
]


def _copy_project(dest: Path) -> dict[str, str]:
    from safeship.demo.workspace import copy_pipeline

    return copy_pipeline(dest, ROOT)


def bench_repro(workdir: Path) -> dict[str, float]:
    env = _copy_project(workdir)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "repro"], cwd=workdir, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"dvc repro failed:\n{done.stdout}\n{done.stderr}")
    timings = json.loads((workdir / "reports/validation/corpus.json").read_text())["timings"]
    return {"repro_wall_s": wall, **{f"validate.{k}": float(v) for k, v in timings.items()}}


def bench_generation(model_dir: Path, n: int, max_new_tokens: int) -> list[tuple[str, float]]:
    from safeship.models.base import GenerationRequest
    from safeship.models.ngram import NgramGenerator

    started = time.perf_counter()
    model = NgramGenerator.load(model_dir)
    rows = [("load model (s)", time.perf_counter() - started)]
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(n)]
    outputs: list[str] = []
    for label, temperature in (
        ("T=1.0 exact", 1.0),
        ("T=0.9 cold cache", 0.9),
        ("T=0.9 warm cache", 0.9),
        ("T=0 greedy", 0.0),
    ):
        request = GenerationRequest(temperature=temperature, max_new_tokens=max_new_tokens, seed=1)
        started = time.perf_counter()
        results = model.generate(prompts, request)
        rows.append((f"generate {label} (texts/s)", n / (time.perf_counter() - started)))
        outputs = [g.text for g in results]
    started = time.perf_counter()
    for prompt, text in zip(prompts, outputs, strict=True):
        model.token_logprobs(text, prompt=prompt)
    rows.append(("baseline: token_logprobs (texts/s)", n / (time.perf_counter() - started)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--prompts", type=int, default=500)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="safeship-bench-") as tmp:
        repro = bench_repro(Path(tmp))
        generation = bench_generation(
            Path(tmp) / "models/demo-chat", args.prompts, args.max_new_tokens
        )
    total = repro["validate.total_s"]
    print("demo pipeline: dvc repro from scratch (prepare -> validate -> train)")
    print(f"  {'dvc repro wall (s)':<40} {repro['repro_wall_s']:10.2f}")
    for key in ("import_gx_s", "context_s", "validate_s", "total_s"):
        value = repro[f"validate.{key}"]
        print(f"  {'validate stage ' + key:<40} {value:10.3f}  ({value / total:6.1%} of GX time)")
    share = total / repro["repro_wall_s"]
    print(f"  {'GX (import+suite+run) share of repro':<40} {share:10.1%}")
    print(f"ngram generation on {args.prompts} prompts, max_new_tokens={args.max_new_tokens}")
    for label, value in generation:
        print(f"  {label:<40} {value:10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
