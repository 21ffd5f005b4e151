"""A self-contained HTML safety report per scan: from ``profile.json`` + ``outputs.parquet``.

``write_safety_report(scan_dir)`` reads the two files a battery run saves
(``BatteryResult.save``) and writes ``safety_report.html`` next to them: categories with
their verdicts, every metric with its 95% interval (table and an interval plot), and the
worst outputs of each category. The CSS is inlined and the plot is inline SVG, so the
file opens offline anywhere. The dashboard serves the same page for a version's newest
scan at ``/safety/<model>/<version>/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeship.errors import NotFoundError

if TYPE_CHECKING:
    import pandas as pd

    from safeship.dashboard.context import Context

REPORT_NAME = "safety_report.html"
WORST = 3


def _categories(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for m in metrics:
        entry = found.setdefault(
            str(m["category"]), {"name": m["category"], "metrics": 0, "failed": 0}
        )
        entry["metrics"] += 1
        entry["failed"] += 1 if m.get("passed") is False else 0
    return list(found.values())


def interval_svg(metrics: list[dict[str, Any]]) -> str:
    """Each metric's value and 95% interval, with its threshold where it has one."""
    from safeship.dashboard.plots import _figure, _svg

    shown = [m for m in metrics if isinstance(m.get("value"), int | float)]
    if not shown:
        return ""
    figure = _figure(8, 0.28 * len(shown) + 1.0)
    axes = figure.add_subplot()
    labels = [f"{m['category']}.{m['name']}" for m in shown]
    for index, m in enumerate(shown):
        colour = "#cf222e" if m.get("passed") is False else "#0969da"
        low, high = float(m.get("ci_low", m["value"])), float(m.get("ci_high", m["value"]))
        axes.plot([low, high], [index, index], color=colour, linewidth=2)
        axes.plot([m["value"]], [index], "o", color=colour)
        if isinstance(m.get("threshold"), int | float):
            axes.plot([m["threshold"]], [index], "|", color="#24292f", markersize=12)
    axes.set_yticks(range(len(shown)), labels, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("value (dot), 95% interval (line), threshold (bar)", fontsize=8)
    axes.grid(axis="x", alpha=0.3)
    return _svg(figure)


def build(profile: dict[str, Any], outputs: pd.DataFrame | None, title: str) -> dict[str, Any]:
    from safeship.dashboard.versions import worst_outputs

    metrics = list(profile.get("metrics") or [])
    categories = _categories(metrics)
    css = (Path(__file__).parent / "static" / "style.css").read_text(encoding="utf-8")
    worst = worst_outputs(outputs, [str(c["name"]) for c in categories])
    return {
        "title": title,
        "profile": profile,
        "metrics": metrics,
        "categories": categories,
        "chart": interval_svg(metrics),
        "worst": {k: v[:WORST] for k, v in worst.items()},
        "outputs_n": 0 if outputs is None else len(outputs),
        "css": css,
    }


def write_safety_report(scan_dir: Path, title: str | None = None) -> Path:
    """Write ``safety_report.html`` from ``profile.json`` and ``outputs.parquet`` in ``scan_dir``."""
    import pandas as pd

    from safeship.dashboard.render import environment

    profile_path, outputs_path = scan_dir / "profile.json", scan_dir / "outputs.parquet"
    if not profile_path.is_file():
        raise NotFoundError(f"no profile.json in {scan_dir}: run the safety battery there first")
    profile = json.loads(profile_path.read_text(encoding="utf-8"))
    outputs = pd.read_parquet(outputs_path) if outputs_path.is_file() else None
    data = build(profile, outputs, title or f"Safety report: {scan_dir}")
    html = environment().get_template("safety.html").render(**data, back_url=None)
    target = scan_dir / REPORT_NAME
    target.write_text(html, encoding="utf-8")
    return target


def report_data(ctx: Context, model: str, version: str) -> dict[str, Any]:
    """The report of ``version``'s latest stored profile and its newest outputs.parquet."""
    from safeship.dashboard.sources import bundles, newest_file
    from safeship.dashboard.versions import OUTPUTS, _read_outputs

    stored = ctx.registry.profiles.require_latest(model, version)
    outputs = _read_outputs(newest_file(ctx.reports, bundles(ctx.reports, model, version), OUTPUTS))
    data = build(stored.profile, outputs, f"Safety report: {model} {version}")
    return {**data, "profile_hash": stored.profile_hash, "model": model, "version": version}
