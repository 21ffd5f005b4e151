"""Production traffic checks of the monitor: output drift and safety rates.

Reads the request log's production (``stable``) requests of two windows (see
``monitoring.window_bounds``), scores the answered outputs once with ``score_outputs``
and measures drift with Evidently (``DataDriftPreset`` restricted to those descriptors;
HTML + JSON in ``reports/monitor/<model>/<timestamp>/``) and safety rates against
``monitor`` limits. The decisions are ``monitoring.rate_checks`` and
``monitoring.drift_decision``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from safeship.monitoring.policy import (
    DRIFT_BINARY,
    DRIFT_NUMERIC,
    PRODUCTION_ROLE,
    Finding,
    RateCheck,
    drift_decision,
    failed_mask,
    rate_checks,
    report_stamp,
    window_bounds,
)

if TYPE_CHECKING:
    import pandas as pd

    from safeship.gateway.requestlog import RequestLog
    from safeship.params import MonitorParams, Params, SafetyParams


class DriftResult(BaseModel):
    """Output drift between two windows (``drifted`` is None when it was not measured)."""

    drifted: bool | None
    share: float | None = None
    columns: dict[str, float] = Field(default_factory=dict)
    drifted_columns: list[str] = Field(default_factory=list)
    reference_n: int = 0
    current_n: int = 0
    html: str | None = None
    json_path: str | None = None
    reason: str | None = None


class TrafficResult(BaseModel):
    """Drift and safety rates of one model's production traffic."""

    model: str
    window: dict[str, str]
    versions: dict[str, list[str]] = Field(default_factory=dict)
    drift: DriftResult
    rates: list[RateCheck] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)


def _window(
    log: RequestLog, model: str, since: datetime, until: datetime, max_rows: int
) -> pd.DataFrame:
    frame = log.query(model, role=PRODUCTION_ROLE, since=since, until=until)
    return frame.tail(max_rows).reset_index(drop=True)


def score_answered(requests: pd.DataFrame, guardrails: SafetyParams.Guardrails) -> pd.DataFrame:
    """``score_outputs`` over the answered requests' outputs (one row each)."""
    from safeship.safety.scorers import score_outputs

    answered = requests[~failed_mask(requests) & requests["output"].notna()]
    return score_outputs(answered["output"].astype(str).tolist(), guardrails)


def drift_report(
    reference: pd.DataFrame, current: pd.DataFrame, params: MonitorParams, out_dir: Path
) -> DriftResult:
    """Evidently ``DataDriftPreset`` on the output descriptors; HTML + JSON in ``out_dir``.

    Numeric descriptors use the two-sample KS test, yes/no descriptors the z-test for
    proportions (fixed, so the decision does not change with the sample size); a yes/no
    descriptor constant in both windows carries no information and is left out.
    """
    from safeship.monitoring.drift import drift_report as evidently_drift

    binary = [c for c in DRIFT_BINARY if reference[c].nunique() + current[c].nunique() > 2
              or set(reference[c].unique()) != set(current[c].unique())]  # fmt: skip
    summary = evidently_drift(
        reference, current, out_dir, method="ks", cat_method="z",
        threshold=params.drift_threshold, columns=tuple(DRIFT_NUMERIC),
        categorical=tuple(binary), drift_share=params.drift_share,
    )  # fmt: skip
    p_values: dict[str, float] = dict(summary["scores"])
    html, json_path = summary["html"], summary["json"]
    drifted, share, drifted_columns = drift_decision(
        p_values, params.drift_threshold, params.drift_share
    )
    return DriftResult(
        drifted=drifted, share=share, columns=p_values, drifted_columns=drifted_columns,
        reference_n=len(reference), current_n=len(current), html=str(html),
        json_path=str(json_path),
    )  # fmt: skip


def check_traffic(
    log: RequestLog,
    model: str,
    params: Params,
    out_root: Path,
    *,
    now: datetime | None = None,
) -> TrafficResult:
    """Drift (recent vs reference window) and safety rates (recent window) of production."""
    monitor = params.monitor
    now = now or datetime.now(UTC)
    ref_start, recent_start, end = window_bounds(now, monitor)
    reference = _window(log, model, ref_start, recent_start, monitor.max_rows)
    recent = _window(log, model, recent_start, end, monitor.max_rows)
    window = {"reference_start": ref_start.isoformat(), "recent_start": recent_start.isoformat(),
              "end": end.isoformat()}  # fmt: skip
    versions = {
        "reference": sorted(str(v) for v in reference["version"].dropna().unique()),
        "recent": sorted(str(v) for v in recent["version"].dropna().unique()),
    }
    result = TrafficResult(model=model, window=window, versions=versions,
                           drift=DriftResult(drifted=None))  # fmt: skip
    guardrails = params.safety.guardrails
    recent_scored = score_answered(recent, guardrails)
    if len(recent) < monitor.min_samples:
        result.findings.append(Finding(
            check="safety", severity="info", model=model,
            message=f"{len(recent)} production requests in the recent window, fewer than "
            f"min_samples {monitor.min_samples}: safety rates not judged",
        ))  # fmt: skip
    else:
        result.rates = rate_checks(recent, recent_scored, monitor)
        for rate in (r for r in result.rates if r.breached):
            result.findings.append(Finding(
                check="safety", severity="alert", model=model,
                version=versions["recent"][-1] if len(versions["recent"]) == 1 else None,
                message=f"{model}: {rate.name} {rate.rate:.3f} ({rate.count}/{rate.n}, 95% CI "
                f"{rate.ci_low:.3f}–{rate.ci_high:.3f}) above the limit {rate.limit}",
                detail={**rate.model_dump(), "confident": rate.confident},
            ))  # fmt: skip
    reference_scored = score_answered(reference, guardrails)
    if min(len(reference_scored), len(recent_scored)) < monitor.min_samples:
        result.drift = DriftResult(
            drifted=None, reference_n=len(reference_scored), current_n=len(recent_scored),
            reason=f"drift not measured: {len(reference_scored)} reference and "
            f"{len(recent_scored)} recent answered requests (min_samples {monitor.min_samples})",
        )  # fmt: skip
        result.findings.append(Finding(check="drift", severity="info", model=model,
                                       message=result.drift.reason or ""))  # fmt: skip
        return result
    out_dir = out_root / model / report_stamp(now)
    result.drift = drift_report(reference_scored, recent_scored, monitor, out_dir)
    summary = {"window": window, "versions": versions, "drift": result.drift.model_dump(),
               "rates": [r.model_dump() for r in result.rates]}  # fmt: skip
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    if result.drift.drifted:
        result.findings.append(Finding(
            check="drift", severity="alert", model=model,
            message=f"{model}: production outputs drifted ({len(result.drift.drifted_columns)}"
            f"/{len(result.drift.columns)} descriptors: "
            f"{', '.join(result.drift.drifted_columns)}); report {result.drift.html}",
            detail={"share": result.drift.share, "columns": result.drift.columns,
                    "versions": versions, "html": result.drift.html,
                    "json": result.drift.json_path},
        ))  # fmt: skip
    return result
