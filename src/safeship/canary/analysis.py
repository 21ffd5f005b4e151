"""Canary analysis: per-step counts from the request log, and the verdict of one check.

A rollout is a list of windows, one per canary step (a fixed weight). Each check
summarises the current window's requests — canary (the candidate) and stable — and
:func:`analyse` decides: ``continue`` (not enough evidence either way), ``next_step`` /
``promote`` (enough canary requests and no breach), ``rollback`` (a breach: the metric,
its value and the bound it crossed) or ``inconclusive`` (the step ran out of time; the
``action`` says what ``canary.inconclusive`` wants done).

Rates (errors, toxic outputs, PII, guardrail violations) use the always-valid mixture
SPRT of :mod:`.sequential` over every window so far, at ``alpha`` split evenly over the
four rates; a breach also needs the observed excess to exceed ``allowed_delta``.
Latency compares the current window's p95s (both arms need ``min_latency_samples``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from safeship.canary.sequential import Window, rate_test

if TYPE_CHECKING:
    import pandas as pd

    from safeship.config import CanaryParams, SafetyParams

Decision = Literal["continue", "next_step", "promote", "rollback", "inconclusive"]
RATES: dict[str, str] = {
    "error_rate": "errors",
    "toxicity_rate": "toxic",
    "pii_rate": "pii",
    "guardrail_rate": "guardrail",
}


class ArmStats(BaseModel):
    """One arm's counts in one window."""

    n: int = 0
    errors: int = 0
    toxic: int = 0
    pii: int = 0
    guardrail: int = 0
    latency_p95_ms: float | None = None


class StepWindow(BaseModel):
    """One canary step: its weight and both arms' counts."""

    step: int
    weight: int
    canary: ArmStats = Field(default_factory=ArmStats)
    stable: ArmStats = Field(default_factory=ArmStats)


class Breach(BaseModel):
    metric: str
    value: float
    bound: float
    stable_value: float | None = None
    e_value: float | None = None
    threshold: float | None = None

    def describe(self) -> str:
        text = f"{self.metric} {self.value:.4g} > bound {self.bound:.4g}"
        if self.stable_value is not None:
            text += f" (stable {self.stable_value:.4g})"
        if self.e_value is not None and self.threshold is not None:
            text += f", SPRT e-value {self.e_value:.3g} >= {self.threshold:.3g}"
        return text


class Verdict(BaseModel):
    decision: Decision
    action: Literal["rollback", "promote", "hold"] | None = None
    step: int
    weight: int
    elapsed_s: float
    canary_n: int
    stable_n: int
    metrics: dict[str, dict[str, Any]] = Field(default_factory=dict)
    breach: Breach | None = None
    reason: str = ""


def arm_stats(
    frame: pd.DataFrame, guardrails: SafetyParams.Guardrails | None, toxic_score: float
) -> ArmStats:
    """Counts of one arm's request-log rows: errors (status != 200), and, among answered
    requests, outputs that are toxic, carry PII or break a guardrail."""
    from safeship.safety.scorers import score_outputs

    n = len(frame)
    if n == 0:
        return ArmStats()
    ok = frame[frame["status"] == 200]
    toxic = pii = guard = 0
    if len(ok):
        scores = score_outputs(ok["output"].fillna("").astype(str).tolist(), guardrails)
        toxic = int((scores["toxicity"] >= toxic_score).sum())
        pii = int(scores["pii"].sum())
        guard = int(scores["guardrail_violation"].sum())
    return ArmStats(
        n=n,
        errors=int((frame["status"] != 200).sum()),
        toxic=toxic,
        pii=pii,
        guardrail=guard,
        latency_p95_ms=float(frame["latency_ms"].quantile(0.95)),
    )


def summarise(
    frame: pd.DataFrame,
    *,
    candidate: str,
    step: int,
    weight: int,
    guardrails: SafetyParams.Guardrails | None,
    toxic_score: float,
) -> StepWindow:
    """A window from request-log rows: canary = the candidate in the canary role."""
    canary = frame[(frame["role"] == "canary") & (frame["version"] == candidate)]
    stable = frame[frame["role"] == "stable"]
    return StepWindow(
        step=step,
        weight=weight,
        canary=arm_stats(canary, guardrails, toxic_score),
        stable=arm_stats(stable, guardrails, toxic_score),
    )


def _rate_windows(windows: list[StepWindow], field: str) -> list[Window]:
    """One test window per step. A step without stable traffic (weight 100) is compared
    with the stable traffic of the steps before it (pooled): an approximation, since that
    stable evidence then counts twice, but without it a 100% step could not be judged."""
    out: list[Window] = []
    pooled_n = pooled_events = 0
    for w in windows:
        stable_n, stable_events = w.stable.n, getattr(w.stable, field)
        if stable_n == 0:
            stable_n, stable_events = pooled_n, pooled_events
        else:
            pooled_n += stable_n
            pooled_events += stable_events
        out.append(Window(w.canary.n, getattr(w.canary, field), stable_n, stable_events))
    return out


def _latency(current: StepWindow, params: CanaryParams) -> tuple[dict[str, Any], Breach | None]:
    c, s = current.canary, current.stable
    info: dict[str, Any] = {"canary_p95_ms": c.latency_p95_ms, "stable_p95_ms": s.latency_p95_ms}
    enough = min(c.n, s.n) >= params.min_latency_samples
    if not enough or c.latency_p95_ms is None or s.latency_p95_ms is None:
        info["judged"] = False
        return info, None
    ratio = c.latency_p95_ms / max(s.latency_p95_ms, 1e-9)
    info.update(judged=True, ratio=ratio)
    bound = s.latency_p95_ms * params.max_latency_p95_ratio
    if ratio > params.max_latency_p95_ratio and (
        c.latency_p95_ms - s.latency_p95_ms > params.latency_slack_ms
    ):
        return info, Breach(
            metric="latency_p95_ms",
            value=c.latency_p95_ms,
            bound=bound,
            stable_value=s.latency_p95_ms,
        )
    return info, None


def analyse(
    windows: list[StepWindow], params: CanaryParams, *, elapsed_s: float, last_step: bool
) -> Verdict:
    """The verdict of one check; ``windows[-1]`` is the current step."""
    if not windows:
        raise ValueError("analyse needs at least the current step's window")
    current = windows[-1]
    metrics: dict[str, dict[str, Any]] = {}
    breach: Breach | None = None
    alpha = params.alpha / len(RATES)
    for metric, field in RATES.items():
        test = rate_test(_rate_windows(windows, field), alpha=alpha, ratios=params.ratios)
        delta = params.allowed_delta.get(metric, 0.0)
        excess = test.canary_rate - test.stable_rate
        metrics[metric] = {
            "canary": test.canary_rate,
            "stable": test.stable_rate,
            "canary_n": test.canary_n,
            "stable_n": test.stable_n,
            "e_value": test.e_value,
            "threshold": test.threshold,
            "allowed_delta": delta,
        }
        if breach is None and test.rejected and excess > delta:
            breach = Breach(
                metric=metric,
                value=test.canary_rate,
                bound=test.stable_rate + delta,
                stable_value=test.stable_rate,
                e_value=test.e_value,
                threshold=test.threshold,
            )
    latency, slow = _latency(current, params)
    metrics["latency_p95_ms"] = latency
    breach = breach or slow
    base: dict[str, Any] = {
        "step": current.step,
        "weight": current.weight,
        "elapsed_s": round(elapsed_s, 3),
        "canary_n": current.canary.n,
        "stable_n": current.stable.n,
        "metrics": metrics,
    }
    if breach is not None:
        return Verdict(decision="rollback", breach=breach, reason=breach.describe(), **base)
    stable_needed = params.min_stable_requests if current.weight < 100 else 0
    if current.canary.n >= params.min_requests and current.stable.n >= stable_needed:
        decision: Decision = "promote" if last_step else "next_step"
        reason = f"{current.canary.n} canary requests at {current.weight}% without a breach"
        return Verdict(decision=decision, reason=reason, **base)
    if elapsed_s >= params.max_step_duration_s:
        reason = (
            f"step {current.step} ({current.weight}%) saw {current.canary.n}/"
            f"{params.min_requests} canary and {current.stable.n}/{stable_needed} stable "
            f"requests in {params.max_step_duration_s:g} s; policy: {params.inconclusive}"
        )
        return Verdict(decision="inconclusive", action=params.inconclusive, reason=reason, **base)
    return Verdict(decision="continue", reason="collecting evidence", **base)
