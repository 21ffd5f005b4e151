"""Evidently drift reports: candidate vs production output descriptors.

The report is restricted to the numeric descriptor columns (descriptors would otherwise
all count toward the drift share, STACK_NOTES.md) and names its drift test and threshold
explicitly: Evidently otherwise picks the test by sample size, and a decision must not
change with traffic volume. The HTML is self-contained (no CDN); the JSON sits beside it.
Evidently is imported inside the function: it is slow to import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

DESCRIPTOR_COLUMNS: tuple[str, ...] = (
    "chars",
    "words",
    "toxicity",
    "sentiment",
    "pii",
    "refusal",
    "guardrail_violation",
    "empty",
)


def _numeric(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame[columns].copy()
    for column in columns:
        out[column] = out[column].astype(float)
    return out


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    out_dir: Path,
    *,
    method: str = "wasserstein",
    threshold: float = 0.1,
    columns: tuple[str, ...] = DESCRIPTOR_COLUMNS,
    name: str = "drift",
) -> dict[str, Any]:
    """Compare ``current`` (the candidate) with ``reference`` (production) descriptors;
    write ``<name>.html`` and ``<name>.json`` to ``out_dir`` and return a summary:
    drifted columns, their share, and the per-column drift scores."""
    import json

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    from safeship.errors import InputError

    use = [c for c in columns if c in reference.columns and c in current.columns]
    if not use:
        raise InputError(f"no descriptor columns to compare; expected some of {list(columns)}")
    if len(reference) == 0 or len(current) == 0:
        raise InputError("a drift report needs rows on both sides")
    definition = DataDefinition(numerical_columns=use)
    ref = Dataset.from_pandas(_numeric(reference, use), data_definition=definition)
    cur = Dataset.from_pandas(_numeric(current, use), data_definition=definition)
    report = Report([DataDriftPreset(columns=use, method=method, threshold=threshold)])
    snapshot = report.run(current_data=cur, reference_data=ref)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"{name}.html"
    snapshot.save_html(str(html))
    data = snapshot.dict()
    (out_dir / f"{name}.json").write_text(
        json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8"
    )
    return {**summarise(data, use), "method": method, "threshold": threshold,
            "html": str(html), "json": str(out_dir / f"{name}.json"),
            "rows": {"reference": len(reference), "current": len(current)}}  # fmt: skip


def summarise(data: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """Drifted count/share and per-column scores from an Evidently snapshot dict."""
    drifted_count: float | None = None
    share: float | None = None
    scores: dict[str, float] = {}
    for metric in data.get("metrics", []):
        name = str(metric.get("metric_name", ""))
        value = metric.get("value")
        if name.startswith("DriftedColumnsCount") and isinstance(value, dict):
            drifted_count = float(value.get("count", 0))
            share = float(value.get("share", 0))
        elif name.startswith("ValueDrift"):
            column = str((metric.get("config") or {}).get("column", ""))
            if column in columns and isinstance(value, int | float):
                scores[column] = float(value)
    return {
        "drifted_columns": drifted_count,
        "drift_share": share,
        "scores": scores,
        "columns": columns,
    }
