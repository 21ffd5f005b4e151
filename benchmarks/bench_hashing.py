"""Artifact hashing and re-registration, against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_hashing.py [--size-mib 1024] [--repeats 3] [--quick]

1. Cold hashing: ``safeship.registry.hashing.hash_directory(path, cache=None)`` on a folder holding
   one random file of ``--size-mib`` MiB, against ``md5sum`` on the same file. After one
   warm-up read the two run alternately, ``--repeats`` times each, so *both read from the
   page cache* (the file fits in RAM); the ratio is md5sum_time / safeship_time (target
   ≥ 0.8: safeship's Python loop costs at most 25 % over the C tool).
2. Hash only, warm vs cold: ``hash_directory`` with a ``HashCache`` — cold is a fresh
   cache database, warm is the same unchanged file with the cache filled.
3. Re-registering an unchanged artifact: full ``safeship.registry.registration.register`` in a
   throw-away git project set up with ``safeship.project.init_project``. Cold = the first
   registration (hash, copy into the DVC cache, push to the DVC remote); warm = the same
   unchanged files registered as a new version (hash-cache hit, DVC objects already
   present). Target: warm ≥ 100× faster than cold (issue 18; the DVC repo handle is
   kept per process).
4. Per-step breakdown of both paths, calling the steps of ``register`` directly (in a
   second fresh project): the registry reads, ``hash_artifact``, ``capture_lineage`` (and
   inside it ``git_state``, ``environment``), ``store_artifact`` (and inside it opening the
   DVC repo, and the push status check), the baseline lookup and ``diff_lineage``,
   ``add_version``; "other" is what the full ``register`` took beyond their sum (noise).

``os.sync()`` runs (untimed) before each cold run and before the warm runs, so no run pays
for the write-back of files an earlier run wrote (a cold registration writes the artifact
twice: into the DVC cache and to the DVC remote).

Everything lives under a temporary folder in /tmp, deleted at the end. Prints tables;
asserts nothing (absolute times depend on the machine).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt_runs, fmt_seconds, header, median, table, timed  # noqa: E402

from safeship.config import Settings  # noqa: E402
from safeship.lineage.capture import capture_lineage, diff_lineage, environment, git_state  # noqa: E402
from safeship.project import init_project  # noqa: E402
from safeship.registry.hashing import HashCache, hash_directory  # noqa: E402
from safeship.registry.registration import _baseline, hash_artifact, register  # noqa: E402
from safeship.registry.storage import (  # noqa: E402
    _object_ids,
    close_repos,
    dvc_repo,
    store_artifact,
)
from safeship.registry.store import Registry  # noqa: E402

WRITE_CHUNK = 16 * 1024 * 1024
WARM_RUNS = 3  # warm registrations after each cold one
# Kept open: DVC's log handler keeps the stream it first saw, so it must not be closed.
QUIET = open(os.devnull, "w")  # noqa: SIM115


def make_artifact(folder: Path, size_mib: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "weights.bin"
    remaining = size_mib * 1024 * 1024
    with target.open("wb") as handle:
        while remaining:
            step = min(WRITE_CHUNK, remaining)
            handle.write(os.urandom(step))
            remaining -= step
    return target


def warm_read(path: Path) -> None:
    with path.open("rb", buffering=0) as handle:
        while handle.read(WRITE_CHUNK):
            pass


def md5sum(path: Path) -> str:
    out = subprocess.run(["md5sum", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


# ------------------------------------------------------------------ 1. cold hashing
def bench_cold_hash(folder: Path, data: Path, repeats: int, size_mib: int) -> dict[str, float]:
    warm_read(data)
    tool_runs: list[float] = []
    ours_runs: list[float] = []
    for _ in range(repeats):
        t_tool, tool_md5 = timed(lambda: md5sum(data))
        t_ours, manifest = timed(lambda: hash_directory(folder, cache=None))
        if manifest.files[0].md5 != tool_md5:
            raise SystemExit(f"md5 mismatch: md5sum {tool_md5}, safeship {manifest.files[0].md5}")
        tool_runs.append(t_tool)
        ours_runs.append(t_ours)
    tool, ours = median(tool_runs), median(ours_runs)
    print(f"## 1. Cold hashing of {size_mib} MiB (page cache warm for both)")
    print(
        table(
            ["what", "median", "MiB/s", f"runs (alternating, n={repeats})"],
            [
                [
                    "md5sum (baseline)",
                    fmt_seconds(tool),
                    f"{size_mib / tool:.0f}",
                    fmt_runs(tool_runs),
                ],
                [
                    "hash_directory(cache=None)",
                    fmt_seconds(ours),
                    f"{size_mib / ours:.0f}",
                    fmt_runs(ours_runs),
                ],
            ],
        )
    )
    ratio = tool / ours
    print(
        f"ratio md5sum_time / safeship_time = {ratio:.2f}  (target ≥ 0.8: {'met' if ratio >= 0.8 else 'MISSED'})"
    )
    print()
    return {"md5sum": tool, "safeship": ours, "ratio": ratio}


# ------------------------------------------------------------- 2. hash only warm/cold
def bench_hash_cache(folder: Path, scratch: Path, repeats: int) -> dict[str, float]:
    cold_runs: list[float] = []
    warm_runs: list[float] = []
    for i in range(repeats):
        db = scratch / f"hash-cache-{i}.db"
        cache = HashCache(db)
        try:
            run = functools.partial(hash_directory, folder, cache=cache)
            cold_runs.append(timed(run)[0])
            for _ in range(5):
                warm_runs.append(timed(run)[0])
        finally:
            cache.close()
        db.unlink()
    cold, warm = median(cold_runs), median(warm_runs)
    print("## 2. Hash only: hash_directory with a HashCache, unchanged file")
    print(
        table(
            ["what", "median", "runs"],
            [
                ["cold (empty cache)", fmt_seconds(cold), fmt_runs(cold_runs)],
                ["warm (cache hit)", fmt_seconds(warm), fmt_runs(warm_runs)],
            ],
        )
    )
    print(f"speed-up warm vs cold = {cold / warm:,.0f}×")
    print()
    return {"cold": cold, "warm": warm, "ratio": cold / warm}


# ------------------------------------------------------- 3./4. registration warm/cold
def new_project(scratch: Path, name: str, data: Path) -> tuple[Registry, Path]:
    """A git project with safeship initialised and the artifact (hard-linked) inside it."""
    root = scratch / name
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(  # a commit, so git_state runs `git status` as in a real project
        [
            "git",
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@localhost",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "init",
        ],
        cwd=root,
        check=True,
    )
    artifact = root / "model"
    artifact.mkdir()
    os.link(data, artifact / data.name)  # same inode and page-cache pages, no extra disk
    settings = Settings.from_env(root)
    with contextlib.redirect_stdout(QUIET):  # DVC's "Initialized DVC repository." banner
        init_project(settings)
    return Registry.open(settings), artifact


def steps(registry: Registry, artifact: Path, version: str, parent: str | None) -> dict[str, float]:
    """The steps of ``register``, each timed on its own (plus a few sub-steps)."""
    root = registry.settings.project_root
    out: dict[str, float] = {}

    def reads() -> bool:
        known = bool(registry.has_model("bench"))
        if known:
            _ = {v.version for v in registry.versions("bench")}  # as register() does
        return known

    out["registry reads (has_model, versions)"], known = timed(reads)
    out["hash_artifact"], manifest = timed(lambda: hash_artifact(registry, artifact))
    out["capture_lineage"], lineage = timed(
        lambda: capture_lineage(root, artifact, dir_hash=manifest.dir_hash, parent_version=parent)
    )
    out["  ├ lineage.git_state"] = timed(lambda: git_state(root))[0]
    out["  └ lineage.environment"] = timed(environment)[0]
    out["store_artifact"], _ = timed(lambda: store_artifact(root, artifact.resolve(), manifest))

    def open_fresh() -> None:
        close_repos()  # what every call paid before the handle was kept per process
        with dvc_repo(root):
            pass

    def open_reused() -> None:
        with dvc_repo(root):
            pass

    def push_again() -> None:
        with dvc_repo(root) as repo:
            repo.cloud.push(_object_ids(manifest))

    out["  ├ DVC Repo open, fresh handle"] = timed(open_fresh)[0]
    out["  ├ DVC Repo open, reused handle"] = timed(open_reused)[0]
    out["  └ open + push (all present)"] = timed(push_again)[0]

    def lineage_diff() -> None:
        baseline = _baseline(registry, "bench", parent) if known else None
        if baseline is not None:
            diff_lineage(
                baseline.lineage,
                lineage,
                baseline.file_hashes(),
                {e.relpath: e.md5 for e in manifest.files},
            )

    out["baseline + diff_lineage"] = timed(lineage_diff)[0]
    out["add_version"], _ = timed(
        lambda: registry.add_version(
            model="bench",
            version=version,
            manifest=manifest.to_dict(),
            lineage=lineage,
            parent_version=parent,
            adapter=None,
            author="bench",
            notes=None,
            risk_tier=None,
            actor="bench",
        )
    )
    return out


def bench_register(scratch: Path, data: Path, repeats: int) -> dict[str, Any]:
    full_cold: list[float] = []
    full_warm: list[float] = []
    step_cold: list[dict[str, float]] = []
    step_warm: list[dict[str, float]] = []
    for i in range(repeats):
        # full register(): cold then warm, in one project
        registry, artifact = new_project(scratch, f"full-{i}", data)
        try:
            first = functools.partial(
                register, registry, model="bench", path=artifact, version="1.0.0", author="bench"
            )
            os.sync()  # no writeback of earlier runs' files during the timed run
            full_cold.append(timed(first)[0])
            os.sync()  # the cold run wrote 2× the artifact (DVC cache + remote): flush it first
            for j in range(1, 1 + WARM_RUNS):
                again = functools.partial(
                    register,
                    registry,
                    model="bench",
                    path=artifact,
                    version=f"1.0.{j}",
                    parent=f"1.0.{j - 1}",
                    author="bench",
                )
                full_warm.append(timed(again)[0])
        finally:
            registry.close()
        shutil.rmtree(scratch / f"full-{i}")
        # the same, step by step, in another fresh project
        registry, artifact = new_project(scratch, f"steps-{i}", data)
        try:
            os.sync()
            step_cold.append(steps(registry, artifact, "1.0.0", None))
            os.sync()
            for j in range(1, 1 + WARM_RUNS):
                step_warm.append(steps(registry, artifact, f"1.0.{j}", f"1.0.{j - 1}"))
        finally:
            registry.close()
        shutil.rmtree(scratch / f"steps-{i}")

    cold, warm = median(full_cold), median(full_warm)
    print("## 3. Full register(): first registration (cold) vs unchanged files again (warm)")
    print(
        table(
            ["what", "median", "runs"],
            [
                [
                    "register, cold (hash + DVC cache copy + push)",
                    fmt_seconds(cold),
                    fmt_runs(full_cold),
                ],
                ["register, warm (unchanged, new version)", fmt_seconds(warm), fmt_runs(full_warm)],
            ],
        )
    )
    ratio = cold / warm
    print(
        f"speed-up warm vs cold = {ratio:.1f}×  (target ≥ 100×: {'met' if ratio >= 100 else 'MISSED'})"
    )
    print()

    names = list(step_cold[0])
    top = [n for n in names if not n.startswith("  ")]
    cold_med = {n: median([s[n] for s in step_cold]) for n in names}
    warm_med = {n: median([s[n] for s in step_warm]) for n in names}
    cold_sum = sum(cold_med[n] for n in top)
    warm_sum = sum(warm_med[n] for n in top)
    rows = []
    for n in names:
        share = "" if n.startswith("  ") else f"{100 * warm_med[n] / warm:.0f} %"
        rows.append([n, fmt_seconds(cold_med[n]), fmt_seconds(warm_med[n]), share])
    rows.append(
        [
            "other (register − steps)",
            fmt_seconds(max(0.0, cold - cold_sum)),
            fmt_seconds(max(0.0, warm - warm_sum)),
            f"{100 * max(0.0, warm - warm_sum) / warm:.0f} %",
        ]
    )
    rows.append(["register (full, from §3)", fmt_seconds(cold), fmt_seconds(warm), "100 %"])
    print("## 4. Breakdown per step (medians; sub-steps are timed separately, indented)")
    print(table(["step", "cold", "warm", "share of warm register"], rows))
    dominant = max(top, key=lambda n: warm_med[n])
    print(
        f"warm path dominated by: {dominant} ({fmt_seconds(warm_med[dominant])} of {fmt_seconds(warm)})"
    )
    print()
    return {
        "cold": cold,
        "warm": warm,
        "ratio": ratio,
        "cold_steps": cold_med,
        "warm_steps": warm_med,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="artifact size (MiB)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement")
    parser.add_argument("--quick", action="store_true", help="smoke run: 32 MiB, 2 repeats")
    parser.add_argument("--skip-register", action="store_true", help="only sections 1–2")
    args = parser.parse_args()
    if args.quick:
        args.size_mib, args.repeats = 32, 2
    for key in ("SAFESHIP_HOME", "SAFESHIP_DB_URL"):  # the throw-away projects own their state
        os.environ.pop(key, None)

    header(f"bench_hashing — {args.size_mib} MiB artifact, {args.repeats} repeats")
    scratch = Path(tempfile.mkdtemp(prefix="safeship-bench-hash-", dir="/tmp"))
    try:
        folder = scratch / "artifact"
        t_make, data = timed(lambda: make_artifact(folder, args.size_mib))
        print(f"(made {data} in {fmt_seconds(t_make)})\n")
        bench_cold_hash(folder, data, args.repeats, args.size_mib)
        bench_hash_cache(folder, scratch, args.repeats)
        if not args.skip_register:
            bench_register(scratch, data, args.repeats)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
