"""CLI start-up time, against the bare interpreter measured in the same run.

    .venv/bin/python benchmarks/bench_cli_startup.py [--runs 20] [--quick]

* ``safeship --help`` wall time (a subprocess, ``--runs`` runs, median) as a ratio to
  ``python -c pass`` with the same interpreter; the two alternate run by run.
* ``python -X importtime -m safeship.cli --help``: the 10 imports with the largest
  cumulative time (median over 3 runs of the whole import list).
* ``safeship status`` on the same empty project: the wall time an operator waits for
  a deployment command (promote/rollback open the same registry and add one transaction).
* ``safeship models`` on an empty project (a throw-away git project set up with
  ``safeship init``) against ``safeship --help``: the cost of opening the registry.

Prints tables; asserts nothing (absolute times depend on the machine).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt_seconds, header, median, percentile, table, timed  # noqa: E402

PYTHON = sys.executable
SAFESHIP = str(Path(sys.executable).with_name("safeship"))
IMPORT_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s?(\s*)(\S+)")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFESHIP_")}
    env.setdefault("DVC_NO_ANALYTICS", "1")
    return env


def run_once(argv: list[str], cwd: Path | None = None) -> float:
    def go() -> None:
        subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, check=True)

    return timed(go)[0]


def alternate(
    commands: dict[str, tuple[list[str], Path | None]], runs: int
) -> dict[str, list[float]]:
    """Each command once per round, round after round; one untimed warm-up round first."""
    for argv, cwd in commands.values():
        run_once(argv, cwd)
    out: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (argv, cwd) in commands.items():
            out[name].append(run_once(argv, cwd))
    return out


def import_times(
    args: list[str], cwd: Path | None = None, rounds: int = 3
) -> tuple[list[tuple[str, float, float]], float]:
    """(module, cumulative s, self s) for the top 10 by cumulative, and the total."""
    samples: dict[str, list[tuple[float, float]]] = {}
    totals: list[float] = []
    for _ in range(rounds):
        done = subprocess.run(
            [PYTHON, "-X", "importtime", "-m", "safeship.cli", *args],
            cwd=cwd,
            env=_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        total = 0.0
        for line in done.stderr.splitlines():
            match = IMPORT_LINE.match(line)
            if match is None:
                continue
            self_us, cumulative_us, indent, name = match.groups()
            samples.setdefault(name, []).append((int(cumulative_us) / 1e6, int(self_us) / 1e6))
            if not indent:  # top-level imports add up to the whole import time
                total += int(cumulative_us) / 1e6
        totals.append(total)
    rows = [
        (name, median([c for c, _ in v]), median([s for _, s in v])) for name, v in samples.items()
    ]
    rows.sort(key=lambda r: r[1], reverse=True)
    return rows[:10], median(totals)


def empty_project(scratch: Path) -> Path:
    root = scratch / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([SAFESHIP, "init"], cwd=root, env=_env(), capture_output=True, check=True)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per command")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 runs")
    parser.add_argument(
        "--baseline-src",
        help="another checkout's src folder (e.g. `git archive main src`): `status` from it "
        "and from this tree alternate with the rest, for a before/after pair in one run",
    )
    args = parser.parse_args()
    if args.quick:
        args.runs = 3

    header(f"bench_cli_startup — {args.runs} runs per command, alternating")
    scratch = Path(tempfile.mkdtemp(prefix="safeship-bench-cli-", dir="/tmp"))
    try:
        project = empty_project(scratch)
        commands: dict[str, tuple[list[str], Path | None]] = {
            "python -c pass (baseline)": ([PYTHON, "-c", "pass"], None),
            "safeship --help": ([SAFESHIP, "--help"], None),
            "safeship models (empty project)": ([SAFESHIP, "models"], project),
            "safeship status (empty project)": ([SAFESHIP, "status"], project),
        }
        if args.baseline_src:
            here = str(Path(__file__).resolve().parents[1] / "src")
            for label, src in (("this tree", here), ("baseline src", args.baseline_src)):
                argv = ["env", f"PYTHONPATH={src}", PYTHON, "-m", "safeship", "status"]
                commands[f"status, {label} (python -m)"] = (argv, project)
        times = alternate(commands, args.runs)
        imports = {
            "--help": import_times(["--help"]),
            "models": import_times(["models"], project),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    rows = [
        [name, fmt_seconds(median(v)), fmt_seconds(min(v)), fmt_seconds(percentile(v, 90))]
        for name, v in times.items()
    ]
    print("## Wall time (subprocess, output captured)")
    print(table(["command", "median", "min", "p90"], rows))
    base = median(times["python -c pass (baseline)"])
    helps = median(times["safeship --help"])
    models = median(times["safeship models (empty project)"])
    print(
        f"safeship --help / python -c pass = {helps / base:.1f}× "
        f"(+{fmt_seconds(helps - base)} over the bare interpreter)"
    )
    print(
        f"safeship models (empty) / safeship --help = {models / helps:.1f}× "
        f"(+{fmt_seconds(models - helps)} to open the registry and list nothing)"
    )
    status = median(times["safeship status (empty project)"])
    print(
        f"safeship status (empty) = {fmt_seconds(status)} wall "
        f"(target <= 350 ms; {status / base:.1f}x python -c pass)"
    )
    print()

    for command, (top, total) in imports.items():
        where = " (empty project)" if command == "models" else ""
        print(
            f"## python -X importtime -m safeship.cli {command}{where}: "
            "top 10 by cumulative time (median of 3)"
        )
        print(
            table(
                ["module", "cumulative", "self"],
                [[name, fmt_seconds(c), fmt_seconds(s)] for name, c, s in top],
            )
        )
        print(f"all imports (sum of top-level cumulative times): {fmt_seconds(total)}")
        print()


if __name__ == "__main__":
    main()
