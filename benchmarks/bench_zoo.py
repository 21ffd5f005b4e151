"""The candidate zoo: does the gate stop every misbehaving candidate and pass the safe ones?

    .venv/bin/python benchmarks/bench_zoo.py [--json] [--only NAME ...] [--tier medium]

Every candidate of ``safeship.testing.zoo`` (issue 11, step 9) is served by one loopback
OpenAI-compatible upstream, registered as an ``openai`` version folder in a throw-away
project and released through the release flow's own steps (register, validate, the
shipped safety battery, the shipped gate) with this repository's ``params.yaml``.
Prints, per candidate, what it should be, the gate's verdict and the failing checks; then
the recall on unsafe candidates and the pass rate of safe ones. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import header, machine_note, table

from safeship.params import load_params
from safeship.testing.zoo.candidates import ZOO, by_name
from safeship.testing.zoo.run import ZooResult, run_zoo

ROOT = Path(__file__).resolve().parent.parent


def _verdict(passed: bool) -> str:
    return "pass" if passed else "FAIL"


def _totals(results: list[ZooResult], passed: Callable[[ZooResult], bool]) -> dict[str, object]:
    unsafe = [r for r in results if r.expected == "unsafe"]
    safe = [r for r in results if r.expected == "safe"]
    caught = [r for r in unsafe if not passed(r)]
    cleared = [r for r in safe if passed(r)]
    return {
        "unsafe": len(unsafe),
        "caught": len(caught),
        "recall_unsafe": round(len(caught) / len(unsafe), 3) if unsafe else None,
        "missed": [r.name for r in unsafe if passed(r)],
        "safe": len(safe),
        "safe_passed": len(cleared),
        "safe_pass_rate": round(len(cleared) / len(safe), 3) if safe else None,
        "wrongly_stopped": [r.name for r in safe if not passed(r)],
    }


def _print_totals(label: str, totals: dict[str, object]) -> None:
    def names(key: str) -> str:
        value = totals[key]
        return ", ".join(value) if isinstance(value, list) and value else "-"

    print(f"{label}:")
    if totals["unsafe"]:
        print(
            f"  unsafe caught {totals['caught']}/{totals['unsafe']} "
            f"(recall {totals['recall_unsafe']}); missed: {names('missed')}"
        )
    if totals["safe"]:
        print(
            f"  safe passed {totals['safe_passed']}/{totals['safe']} "
            f"(pass rate {totals['safe_pass_rate']}); wrongly stopped: {names('wrongly_stopped')}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", choices=[c.name for c in ZOO], help="these only"
    )
    parser.add_argument("--tier", default="medium", help="risk tier (default medium)")
    args = parser.parse_args()
    candidates = by_name(args.only)
    params = load_params(ROOT)
    started = time.perf_counter()

    def progress(result: ZooResult) -> None:
        verdict = _verdict(result.passed)
        print(f"{result.name}: {verdict} ({result.seconds:.1f} s)", file=sys.stderr, flush=True)

    stdout = os.dup(1)
    os.dup2(2, 1)  # DVC's init message and any other chatter go to stderr, not into --json
    try:
        with tempfile.TemporaryDirectory(prefix="safeship-zoo-") as tmp:
            results = run_zoo(candidates, params, Path(tmp), tier=args.tier, done=progress)
    finally:
        sys.stdout.flush()
        os.dup2(stdout, 1)
        os.close(stdout)
    wall = time.perf_counter() - started
    shipped = _totals(results, lambda r: r.passed)
    if args.json:
        document = {
            "machine": machine_note(),
            "tier": args.tier,
            "wall_s": round(wall, 1),
            "totals": shipped,
            "candidates": [r.model_dump() for r in results],
        }
        print(json.dumps(document, indent=2))
        return 0
    header(f"Candidate zoo at the {args.tier} tier ({len(results)} candidates)")
    rows = [
        (
            r.name,
            r.expected,
            _verdict(r.passed),
            ", ".join(r.failing) or "-",
            f"{r.requests} / {r.failed_outputs}",
            f"{r.seconds:.1f}",
        )
        for r in results
    ]
    print(
        table(
            [
                "candidate",
                "expected",
                "gate",
                "failing checks",
                "requests",
                "s",
            ],  # fmt: skip
            rows,
        )
    )
    print()
    _print_totals("shipped gate", shipped)
    missed = [r for r in results if r.expected == "unsafe" and r.passed]
    if missed:
        print("\nmissed unsafe candidates, and what the battery measured where it should show:")
    for r in missed:
        print(f"- {r.name}: {r.failure}")
        shown = [line for line in r.watched if " = 0 [0, 0] " not in line]
        if r.watched and not shown:
            shown = [f"({len(r.watched)} watched metrics, every one 0 [0, 0])"]
        for line in shown or ["(no metric of the watched categories in the profile)"]:
            print(f"    {line}")
    for r in results:
        if r.first_error:
            print(f"- {r.name}: {r.failed_outputs} failed outputs, first: {r.first_error}")
        if r.expected == "safe" and not r.passed:
            print(f"- safe {r.name} stopped: " + "; ".join(r.reasons))
    print(f"wall time {wall:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
