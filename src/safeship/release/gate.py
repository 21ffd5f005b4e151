"""The release gate: a pure function from safety metrics and policy to a decision.

Absolute limits per risk tier and no-regression against production are both judged on
the *unsafe* end of each metric's interval (the upper bound when higher is worse), never
on the point value, so a small sample cannot pass by luck. A failed gate is data — a
``GateResult`` with reasons — not an exception.

Nothing measured is never a pass: a metric the tier limits that the profile lacks, or
that was measured on no prompt at all (``n = 0``), is a failing ``missing`` check. The one
exception is explicit and visible: ``pii.extractions`` of a version whose ``config.json``
declares that it was trained on no data this project holds (``"data": {"train": []}``,
e.g. a hosted model) is a passing ``declared`` check that says so.
Profiles from before schema 2 (no ``method`` per metric) still gate the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from safeship.errors import InputError
from safeship.params import RISK_TIERS, RiskTier, SafetyParams
from safeship.safety.stats import DECLARED_NONE, Metric

CheckKind = Literal["threshold", "regression", "battery", "missing", "declared"]
MetricsInput = Iterable[Metric | Mapping[str, Any]] | Mapping[str, Metric | Mapping[str, Any]]


class GateCheck(BaseModel):
    """One comparison the gate made."""

    metric: str
    kind: CheckKind
    passed: bool
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    bound: float | None = None
    limit: float | None = None
    production_bound: float | None = None
    message: str


class GateResult(BaseModel):
    """The gate's decision: passed, the reasons it failed, every check it made."""

    passed: bool
    risk_tier: str
    reasons: list[str] = Field(default_factory=list)
    checks: list[GateCheck] = Field(default_factory=list)

    @property
    def failed_checks(self) -> list[GateCheck]:
        return [check for check in self.checks if not check.passed]


def _as_metrics(metrics: MetricsInput | None) -> dict[str, Metric]:
    if metrics is None:
        return {}
    items = metrics.values() if isinstance(metrics, Mapping) else metrics
    result: dict[str, Metric] = {}
    for item in items:
        metric = item if isinstance(item, Metric) else Metric.model_validate(dict(item))
        result[metric.key] = metric
    return result


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _describe(metric: Metric) -> str:
    return (
        f"{metric.key} = {_fmt(metric.value)} (95% CI {_fmt(metric.ci_low)}–"
        f"{_fmt(metric.ci_high)}, n={metric.n})"
    )


def _check(metric: Metric, kind: CheckKind, passed: bool, message: str, **extra: Any) -> GateCheck:
    return GateCheck(
        metric=metric.key,
        kind=kind,
        passed=passed,
        value=metric.value,
        ci_low=metric.ci_low,
        ci_high=metric.ci_high,
        n=metric.n,
        message=message,
        **extra,
    )


def _threshold_check(metric: Metric, limit: float, tier: str) -> GateCheck:
    bound = metric.unsafe_bound
    if metric.higher_is_worse:
        passed, side, verb = bound <= limit, "upper", "exceeds"
    else:
        passed, side, verb = bound >= limit, "lower", "is below"
    relation = "is within" if passed else verb
    message = (
        f"{_describe(metric)}: {side} bound {_fmt(bound)} {relation} the {tier}-tier "
        f"limit {_fmt(limit)}"
    )
    return _check(metric, "threshold", passed, message, bound=bound, limit=limit)


def _missing_check(key: str, metric: Metric | None, limit: float, tier: str) -> GateCheck:
    if metric is None:
        what = "no value in the candidate's safety profile"
    else:
        note = metric.detail.get("note")
        what = "measured on no prompt (n=0" + (f": {note}" if note else "") + ")"
    return GateCheck(
        metric=key,
        kind="missing",
        passed=False,
        n=None if metric is None else metric.n,
        limit=limit,
        message=f"{key}: {what}; the {tier}-tier policy limits it to {_fmt(limit)}, and an "
        "unmeasured metric never passes: re-run the battery with probes for it",
    )


def _declared_check(key: str, metric: Metric) -> GateCheck:
    return GateCheck(
        metric=key,
        kind="declared",
        passed=True,
        n=metric.n,
        message=f"{key}: not measured: {metric.detail.get('note')}",
    )


def _regression_check(candidate: Metric, production: Metric, delta: float) -> GateCheck:
    bound, reference = candidate.unsafe_bound, production.unsafe_bound
    if candidate.higher_is_worse:
        allowed = reference + delta
        passed = bound <= allowed + 1e-12
        verb = "rises above"
    else:
        allowed = reference - delta
        passed = bound >= allowed - 1e-12
        verb = "drops below"
    message = (
        f"{_describe(candidate)}: unsafe bound {_fmt(bound)} "
        + ("stays within" if passed else verb)
        + f" production's {_fmt(reference)} ± allowed delta {_fmt(delta)} (limit {_fmt(allowed)})"
    )
    return _check(
        candidate,
        "regression",
        passed,
        message,
        bound=bound,
        limit=allowed,
        production_bound=reference,
    )


def _battery_check(metric: Metric) -> GateCheck:
    if metric.category == "bias":
        alpha = metric.detail.get("alpha")
        message = (
            f"{_describe(metric)}: significant gap (p={_fmt(metric.p_value or 0.0)} < alpha "
            f"{alpha}) above the noise floor {_fmt(metric.threshold or 0.0)}; highest "
            f"{metric.detail.get('highest')!r}, lowest {metric.detail.get('lowest')!r}"
        )
    else:
        message = f"{_describe(metric)}: failed the battery's limit {metric.threshold}"
    return _check(metric, "battery", False, message, limit=metric.threshold)


def evaluate_gate(
    candidate_metrics: MetricsInput,
    production_metrics: MetricsInput | None,
    policy: SafetyParams,
    risk_tier: str,
) -> GateResult:
    """Decide whether a candidate's safety metrics pass the gate for ``risk_tier``.

    * every metric with a limit for the tier must exist and its unsafe bound be within it;
    * every metric the battery judged itself (bias, error rate) must not have failed;
    * with ``production_metrics``, each metric in ``policy.max_regression`` must not have
      an unsafe bound worse than production's unsafe bound by more than the allowed delta
      (an identical candidate therefore never regresses).
    """
    if risk_tier not in RISK_TIERS:
        raise InputError(f"unknown risk tier {risk_tier!r}; use one of {', '.join(RISK_TIERS)}")
    candidate = _as_metrics(candidate_metrics)
    production = _as_metrics(production_metrics)
    checks: list[GateCheck] = []
    limits = policy.thresholds.get(RiskTier(risk_tier), {})
    for key, limit in sorted(limits.items()):
        metric = candidate.get(key)
        if metric is not None and metric.method == DECLARED_NONE:
            checks.append(_declared_check(key, metric))
        elif metric is None or metric.n == 0:
            checks.append(_missing_check(key, metric, float(limit), risk_tier))
        else:
            checks.append(_threshold_check(metric, float(limit), risk_tier))
    for metric in candidate.values():
        if metric.passed is False:
            checks.append(_battery_check(metric))
    if production:
        for key, delta in sorted(policy.max_regression.items()):
            if key in candidate and key in production:
                checks.append(_regression_check(candidate[key], production[key], float(delta)))
    reasons = [check.message for check in checks if not check.passed]
    return GateResult(passed=not reasons, risk_tier=risk_tier, reasons=reasons, checks=checks)
