"""Shared helpers for the foundation benchmarks (hashing, ledger, CLI startup).

Every figure these scripts print is a ratio against a baseline measured in the same run,
because the machine is shared (2 cores, other jobs running) and absolute times drift.
Each measurement is repeated and the median is reported.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of ``run()`` in seconds, and its result."""
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return float(ordered[rank - 1])


def fmt_seconds(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_runs(values: Sequence[float]) -> str:
    return ", ".join(fmt_seconds(v) for v in values)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain fixed-width table (also valid Markdown)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def machine_note() -> str:
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    return (
        f"{platform.node()} · Python {platform.python_version()} · {os.cpu_count()} CPUs "
        f"(shared; other jobs running) · load avg {load} · "
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}"
    )


def header(title: str) -> None:
    print(f"# {title}")
    print(machine_note())
    print()


def two_version_project(
    base: Path, model: str, *, db_url: str | None = None, params_yaml: str | None = None
) -> tuple[Any, Any]:
    """A git + DVC project under ``base`` with ``model`` 1.0.0 (production, order 3) and
    1.1.0 (approved, order 4): real n-gram versions of two demo slices. Returns
    (settings, an open registry)."""
    import subprocess

    from safeship.config import Settings
    from safeship.demo import prepare as prep
    from safeship.demo import train as tr
    from safeship.params import TrainParams, parse_params
    from safeship.project import init_project
    from safeship.registry.registration import register
    from safeship.registry.store import Registry

    source = Path(__file__).resolve().parents[1]
    root = base / "project"
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    if params_yaml is not None:
        (root / "params.yaml").write_text(params_yaml, encoding="utf-8")
    url = db_url or f"sqlite:///{root / '.safeship' / 'registry.db'}"
    settings = Settings(project_root=root, state_dir=root / ".safeship", db_url=url)
    init_project(settings)
    params = parse_params({"prepare": {"source_dir": str(source / "src/safeship/demo/data"),
                                       "slices": ["cooking", "travel"]}}, Path("p")).prepare  # fmt: skip
    prep.prepare(params, source, base / "data")
    registry = Registry.open(settings)
    for version, order in (("1.0.0", 3), ("1.1.0", 4)):
        folder = base / f"o{order}"
        tr.train(TrainParams(order=order), base, data_dir=base / "data", model_dir=folder,
                 metrics_path=base / f"o{order}.json")  # fmt: skip
        register(registry, model=model, path=folder, version=version, author="bench")
        for status in ("validated", "gated", "approved"):
            registry.move_status(model, version, status, actor="bench")
    registry.promote(model, "1.0.0", actor="bench", force=True, reason="bench")
    return settings, registry
