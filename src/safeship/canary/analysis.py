"""The verdict of one canary check, from everything the rollout has seen so far.

:func:`analyse` decides ``continue`` (not enough evidence either way), ``next_step`` /
``promote`` (the step saw enough canary and stable requests without a breach),
``rollback`` (a breach: the metric, its value and the bound it crossed) or
``inconclusive`` (the step ran out of time; ``action`` says what ``canary.inconclusive``
wants done, and the reason says why).

Every watched signal is a per-request flag judged with the **caller** as the unit
(:mod:`.sequential`): errors, toxic answers, PII, guardrail violations, refusals, low
quality answers (empty or fewer than three words), and latency (a request slower than the
stable arm's running p95). ``alpha`` is split evenly over the seven tests. A breach
needs the test to reject *and* a practically significant excess: the canary's rate above
stable's by more than ``allowed_delta`` (absolute) **or** more than ``allowed_ratio``
times it (relative, so a tenfold rise of a rare harm counts); for latency, the canary's
p95 above ``max_latency_p95_ratio`` times stable's and ``latency_slack_ms`` slower.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from safeship.canary.sequential import CallerTest, caller_test, first_flags

if TYPE_CHECKING:
    from safeship.canary.observations import Observations
    from safeship.params import CanaryParams

Decision = Literal["continue", "next_step", "promote", "rollback", "inconclusive"]
RATES: dict[str, str] = {
    "error_rate": "error",
    "toxicity_rate": "toxic",
    "pii_rate": "pii",
    "guardrail_rate": "guardrail",
    "refusal_rate": "refusal",
    "quality_rate": "low_quality",
}
TESTS = len(RATES) + 1  # the rates and latency share alpha


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
            text += f", caller-level e-value {self.e_value:.3g} >= {self.threshold:.3g}"
        return text


class Verdict(BaseModel):
    decision: Decision
    action: Literal["rollback", "promote", "hold"] | None = None
    step: int
    weight: int
    elapsed_s: float
    checked_at: float = 0.0
    canary_n: int  # requests of the current step
    stable_n: int
    canary_callers: int = 0
    stable_callers: int = 0
    metrics: dict[str, dict[str, Any]] = Field(default_factory=dict)
    breach: Breach | None = None
    reason: str = ""
    compared_with: str = ""


def _test_info(test: CallerTest) -> dict[str, Any]:
    return {
        "e_value": test.e_value,
        "threshold": test.threshold,
        "flagged_callers": {"canary": test.flagged_canary, "stable": test.flagged_stable},
        "expected_canary_callers": round(test.expected_canary, 3),
    }


def _rate(obs: Observations, flag: str, metric: str, params: CanaryParams, step: int) -> tuple[
    dict[str, Any], Breach | None
]:  # fmt: skip
    flags = obs.flags[flag]
    test = caller_test(
        first_flags(obs.caller, flags, obs.canary, obs.weight),
        alpha=params.alpha / TESTS, ratios=params.ratios,
    )  # fmt: skip
    cn, sn = int(obs.canary.sum()), int((~obs.canary).sum())
    canary = float(flags[obs.canary].mean()) if cn else 0.0
    stable = float(flags[~obs.canary].mean()) if sn else 0.0
    here = obs.canary & (obs.step == step)
    delta = params.allowed_delta.get(metric, 0.0)
    ratio = params.allowed_ratio.get(metric, 2.0)
    info = {"canary": canary, "stable": stable, "canary_n": cn, "stable_n": sn,
            "step_canary": float(flags[here].mean()) if here.any() else None,
            "allowed_delta": delta, "allowed_ratio": ratio, **_test_info(test)}  # fmt: skip
    bound = min(stable + delta, stable * ratio) if stable > 0 else 0.0
    if test.rejected and canary > bound:
        return info, Breach(metric=metric, value=canary, bound=bound, stable_value=stable,
                            e_value=test.e_value, threshold=test.threshold)  # fmt: skip
    return info, None


def _latency(obs: Observations, params: CanaryParams, step: int) -> tuple[
    dict[str, Any], Breach | None
]:  # fmt: skip
    import numpy as np

    stable = obs.latency[~obs.canary]
    canary = obs.latency[obs.canary]
    if len(stable) < params.min_latency_samples or len(canary) == 0:
        return {"judged": False, "stable_n": len(stable), "canary_n": len(canary)}, None
    threshold = float(np.quantile(stable, 0.95))
    test = caller_test(
        first_flags(obs.caller, obs.latency > threshold, obs.canary, obs.weight),
        alpha=params.alpha / TESTS, ratios=params.ratios,
    )  # fmt: skip
    canary_p95, stable_p95 = float(np.quantile(canary, 0.95)), threshold
    info = {"judged": True, "stable_p95_ms": stable_p95, "canary_p95_ms": canary_p95,
            "canary_share_above_stable_p95": float((canary > threshold).mean()),
            "canary_n": len(canary), "stable_n": len(stable), **_test_info(test)}  # fmt: skip
    bound = max(stable_p95 * params.max_latency_p95_ratio, stable_p95 + params.latency_slack_ms)
    if test.rejected and canary_p95 > bound:
        return info, Breach(metric="latency_p95_ms", value=canary_p95, bound=bound,
                            stable_value=stable_p95, e_value=test.e_value,
                            threshold=test.threshold)  # fmt: skip
    return info, None


def compared_with(weight: int, steps: list[int]) -> str:
    if weight < 100:
        return f"the stable arm of the same steps (callers outside the {weight}% bucket)"
    earlier = [w for w in steps if w < 100]
    return (
        "no concurrent stable arm at 100%: every test carries the caller-level evidence of "
        f"the earlier steps ({', '.join(f'{w}%' for w in earlier) or 'none'}); rates and the "
        "drift report compare this step's traffic with the stable traffic of those steps"
    )


def analyse(
    obs: Observations,
    params: CanaryParams,
    *,
    step: int,
    weight: int,
    elapsed_s: float,
    last_step: bool,
    checked_at: float = 0.0,
) -> Verdict:
    """The verdict of one check; ``step`` is the current step's index."""
    metrics: dict[str, dict[str, Any]] = {}
    breach: Breach | None = None
    for metric, flag in RATES.items():
        metrics[metric], found = _rate(obs, flag, metric, params, step)
        breach = breach or found
    metrics["latency_p95_ms"], slow = _latency(obs, params, step)
    breach = breach or slow
    here = obs.step == step
    canary_n, stable_n = int((obs.canary & here).sum()), int((~obs.canary & here).sum())
    base: dict[str, Any] = {
        "step": step, "weight": weight, "elapsed_s": round(elapsed_s, 3),
        "checked_at": checked_at, "canary_n": canary_n, "stable_n": stable_n,
        "canary_callers": obs.callers_in(obs.canary & here),
        "stable_callers": obs.callers_in(~obs.canary & here), "metrics": metrics,
        "compared_with": compared_with(weight, params.steps),
    }  # fmt: skip
    if breach is not None:
        return Verdict(decision="rollback", breach=breach, reason=breach.describe(), **base)
    stable_needed = params.min_stable_requests if weight < 100 else 0
    if canary_n >= params.min_requests and stable_n >= stable_needed:
        decision: Decision = "promote" if last_step else "next_step"
        reason = (
            f"{canary_n} canary requests from {base['canary_callers']} callers at {weight}% "
            "without a breach"
        )
        return Verdict(decision=decision, reason=reason, **base)
    if elapsed_s >= params.max_step_duration_s:
        reason = (
            f"step {step} ({weight}%) saw {canary_n}/{params.min_requests} canary and "
            f"{stable_n}/{stable_needed} stable requests in {params.max_step_duration_s:g} s"
            + (" (no traffic at all)" if canary_n + stable_n == 0 else "")
            + f"; policy canary.inconclusive: {params.inconclusive}"
        )
        return Verdict(decision="inconclusive", action=params.inconclusive, reason=reason, **base)
    return Verdict(decision="continue", reason="collecting evidence", **base)
