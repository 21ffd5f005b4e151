"""Plots as inline SVG (matplotlib's Agg-free SVG backend; no fonts or files fetched)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

LANES = ("promoted", "rolled back", "canary", "shadow", "rejected", "drill", "alert", "incident")
LANE_COLOURS = {
    "promoted": "#1a7f37",
    "rolled back": "#cf222e",
    "canary": "#bf8700",
    "shadow": "#8250df",
    "rejected": "#cf222e",
    "drill": "#0969da",
    "alert": "#d1242f",
    "incident": "#953800",
}


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("svg", force=False)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=96)
    figure.set_layout_engine("constrained")
    return figure


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def timeline_svg(points: list[dict[str, Any]], title: str) -> str:
    """Events as markers in lanes over time; ``points``: {time, lane, label}."""
    figure = _figure(9, 2.8)
    axes = figure.add_subplot()
    lanes = [lane for lane in LANES if any(p["lane"] == lane for p in points)] or ["promoted"]
    for index, lane in enumerate(lanes):
        chosen = [p for p in points if p["lane"] == lane]
        axes.scatter(
            [datetime.fromisoformat(p["time"]) for p in chosen],
            [index] * len(chosen),
            color=LANE_COLOURS[lane],
            s=36,
            marker="o",
            zorder=3,
        )
    axes.set_yticks(range(len(lanes)), lanes)
    axes.set_ylim(-0.6, len(lanes) - 0.4)
    axes.grid(axis="x", alpha=0.3)
    axes.set_title(title, fontsize=10)
    figure.autofmt_xdate()
    return _svg(figure)


def drill_trend_svg(drills: list[dict[str, Any]]) -> str:
    """Time to detect and time to revert per drill, over time (one line per measure)."""
    figure = _figure(9, 3)
    axes = figure.add_subplot()
    ordered = sorted(drills, key=lambda d: d["time"])
    times = [datetime.fromisoformat(d["time"]) for d in ordered]
    for key, label, colour in (
        ("time_to_detect_s", "time to detect (s)", "#0969da"),
        ("time_to_revert_s", "time to revert (s)", "#cf222e"),
    ):
        pairs = [(t, d[key]) for t, d in zip(times, ordered, strict=True) if d.get(key) is not None]
        if pairs:
            axes.plot(
                [p[0] for p in pairs], [p[1] for p in pairs], marker="o", label=label, color=colour
            )
    failed = [t for t, d in zip(times, ordered, strict=True) if d.get("outcome") != "passed"]
    if failed:
        axes.scatter(failed, [0] * len(failed), marker="x", color="#cf222e", label="failed drill")
    axes.set_ylabel("seconds from fault onset")
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8)
    figure.autofmt_xdate()
    return _svg(figure)
