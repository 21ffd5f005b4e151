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


def _frame(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    out = frame[[*numeric, *categorical]].copy()
    for column in numeric:
        out[column] = out[column].astype(float)
    for column in categorical:
        out[column] = out[column].astype(int).astype(str)
    return out


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    out_dir: Path,
    *,
    method: str = "wasserstein",
    threshold: float = 0.1,
    columns: tuple[str, ...] = DESCRIPTOR_COLUMNS,
    categorical: tuple[str, ...] = (),
    cat_method: str | None = None,
    drift_share: float | None = None,
    name: str = "drift",
) -> dict[str, Any]:
    """Compare ``current`` with ``reference`` descriptors; write ``<name>.html`` and
    ``<name>.json`` to ``out_dir`` and return a summary: drifted columns, their share, the
    per-column scores (p-values for tests such as KS and z) and the snapshot's metrics.

    ``columns`` are compared as numbers with ``method``; ``categorical`` (yes/no flags) as
    categories with ``cat_method``. Both tests are named explicitly.
    """
    import json

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    from safeship.errors import ExternalToolError, InputError

    numeric = [c for c in columns if c in reference.columns and c in current.columns]
    flags = [c for c in categorical if c in reference.columns and c in current.columns]
    if not numeric and not flags:
        raise InputError(f"no descriptor columns to compare; expected some of {list(columns)}")
    if len(reference) == 0 or len(current) == 0:
        raise InputError("a drift report needs rows on both sides")
    use = [*numeric, *flags]
    options: dict[str, Any] = {"columns": use, "threshold": threshold}
    if flags:
        options.update(num_method=method, cat_method=cat_method or method)
    else:
        options["method"] = method
    if drift_share is not None:
        options["drift_share"] = drift_share
    try:
        definition = DataDefinition(numerical_columns=numeric, categorical_columns=flags)
        ref = Dataset.from_pandas(_frame(reference, numeric, flags), data_definition=definition)
        cur = Dataset.from_pandas(_frame(current, numeric, flags), data_definition=definition)
        snapshot = Report([DataDriftPreset(**options)]).run(current_data=cur, reference_data=ref)
        out_dir.mkdir(parents=True, exist_ok=True)
        html = out_dir / f"{name}.html"
        snapshot.save_html(str(html))
        data = snapshot.dict()
    except InputError:
        raise
    except Exception as error:  # Evidently raises many unrelated types; report them as one
        raise ExternalToolError(f"Evidently drift report failed: {error}") from error
    (out_dir / f"{name}.json").write_text(
        json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8"
    )
    return {**summarise(data, use), "method": method, "cat_method": cat_method,
            "threshold": threshold, "html": str(html), "json": str(out_dir / f"{name}.json"),
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
