"""Detection and revert per scenario, by the shipped code only: the canary rollout loop
(:func:`safeship.canary.rollout.run_rollout`) against staging, or the monitor's integrity
and drift checks with its policy (:mod:`safeship.monitoring.policy`). A drill never acts
on their behalf: when they do not act, the drill says so and fails."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from safeship.drills.scenarios import shifted_prompts, tamper_one_byte
from safeship.drills.support import Detection, DrillRun, canary_params, routes_of, serves_canary
from safeship.errors import SafeshipError
from safeship.events import EventKind

if TYPE_CHECKING:
    import pandas as pd

    from safeship.canary.analysis import Verdict
    from safeship.canary.observations import Observations
    from safeship.canary.rollout import Effects
    from safeship.params import CanaryParams

ROLLOUT_ACTOR = "safeship-canary"  # the rollout loop acts, as in production


def _rollout_effects(run: DrillRun) -> Effects:
    """The shipped loop's side effects against staging: its registry, gateway and log."""
    from safeship.canary.rollout import Effects

    model, version = run.model, run.candidate.version

    def set_weight(weight: int) -> float:
        run.set_canary(weight)
        if run.fault_at is None:
            run.onset()  # the faulty candidate serves from its first step
        return time.time()

    def wait(seconds: float) -> int:
        time.sleep(seconds)  # the drill's own traffic runs in the background
        return 0

    def read(since: float, until: float) -> pd.DataFrame:
        run.gateway.flush_log()
        return run.log.query(model, since=since, until=until)

    def abort(reason: str, payload: dict[str, Any], reject: bool) -> None:
        run.staging.abort_canary(model, version, actor=ROLLOUT_ACTOR, reason=reason,
                                 reject=reject, payload=payload)  # fmt: skip

    def record(verdict: Verdict) -> None:
        run.staging.record(
            EventKind.CANARY_ANALYSIS, actor=ROLLOUT_ACTOR, model=model, version=version,
            payload={"step": verdict.step, "weight": verdict.weight,
                     "decision": verdict.decision, "canary_n": verdict.canary_n,
                     "stable_n": verdict.stable_n,
                     "breach": verdict.breach.model_dump() if verdict.breach else None},
        )  # fmt: skip

    def promote(reason: str) -> None:
        run.staging.promote(model, version, actor=ROLLOUT_ACTOR, reason=reason)

    return Effects(now=time.time, wait=wait, read=read, set_weight=set_weight, abort=abort,
                   record=record, promote=promote, stop=run.timed_out)  # fmt: skip


def _blind(obs: Observations, params: CanaryParams, **kwargs: Any) -> Verdict:
    """Sabotage: the analysis runs but never reports anything."""
    from safeship.canary.analysis import analyse

    verdict = analyse(obs, params, **kwargs)
    return verdict.model_copy(update={"decision": "continue", "breach": None, "action": None,
                                      "reason": "analysis disabled (drill sabotage)"})  # fmt: skip


def canary_rollout(run: DrillRun) -> Detection:
    """The shipped rollout loop (:func:`safeship.canary.rollout.run_rollout`) on staging;
    the drill only watches what it did."""
    from safeship.canary.analysis import analyse
    from safeship.canary.observations import text_scorer
    from safeship.canary.rollout import run_rollout

    cp = canary_params(run.params, run.options)
    scorer = text_scorer(run.params.safety.guardrails, cp.toxic_score)
    judge = _blind if run.options.disable_detection else analyse
    result = run_rollout(cp, run.candidate.version, _rollout_effects(run), scorer, judge=judge)
    verdict = result.verdict
    if result.outcome == "stopped" or verdict is None:
        return Detection(gaps=[f"nothing detected within {run.options.max_detect_s:g} s"])
    if result.outcome == "passed":
        return Detection(gaps=["the canary analysis passed the faulty candidate; the rollout "
                               "promoted it"])  # fmt: skip
    detected = Detection(
        at=verdict.checked_at, by=f"canary analysis at {verdict.weight}%: {verdict.reason}",
        detail=verdict.model_dump(mode="json"),
        reverted_by="the rollout loop: abort_canary (weight 0)",
        expect_status="rejected" if result.outcome == "rolled_back" else "approved",
    )  # fmt: skip
    if verdict.decision == "inconclusive":
        detected.gaps.append(f"the analysis was inconclusive: {verdict.reason}")
    return detected


def tampered(run: DrillRun) -> Detection:
    """Canary on; one byte changes in staging's working copy; the monitor's integrity
    check (and its rollback policy) must take the canary off."""
    from safeship.monitoring import policy as monitoring

    run.set_canary(run.options.steps[0])
    time.sleep(1.0)  # let the clean canary serve first
    working = run.staging.settings.state_dir / "artifacts" / run.model / run.candidate.version
    changed = tamper_one_byte(working)
    run.candidate.fault = f"one byte changed in {changed} of staging's working copy"
    run.onset()
    while not run.timed_out():
        time.sleep(run.options.check_interval_s)
        findings = [] if run.options.disable_detection else monitoring.check_integrity(
            run.staging, run.model
        )  # fmt: skip
        alerts = [f for f in findings if f.severity == "alert"]
        if not alerts:
            continue
        now = time.time()
        for finding in alerts:
            monitoring.record_alert(run.staging, finding)
        actions = monitoring.plan_actions(run.model, "rollback", alerts)
        done = monitoring.apply_actions(run.staging, run.model, actions)
        detection = Detection(
            at=now, by="monitor integrity check: " + "; ".join(f.message for f in alerts)[:500],
            detail={"findings": [f.model_dump() for f in alerts], "actions": done},
            reverted_by="monitor policy rollback: " + ", ".join(a.kind for a in actions),
        )  # fmt: skip
        if not any(f.role == "canary" for f in alerts):
            detection.gaps.append("the integrity check did not name the tampered canary")
        return detection
    return Detection(gaps=[f"nothing detected within {run.options.max_detect_s:g} s"])


def drift(run: DrillRun) -> Detection:
    """Canary on, reference traffic, then a shifted prompt distribution; the monitor's
    drift check of production outputs must alert, and the canary is held (weight 0)."""
    import math

    from safeship.monitoring import policy as monitoring
    from safeship.monitoring.traffic import check_traffic

    run.set_canary(run.options.steps[0])
    began = time.time()
    time.sleep(run.options.reference_s)
    run.traffic.start(shifted_prompts())
    run.onset()
    assert run.fault_at is not None
    out_root = run.staging.settings.state_dir / "monitor"
    while not run.timed_out():
        time.sleep(run.options.check_interval_s)
        run.gateway.flush_log()
        now = time.time()
        recent = max(1, math.ceil(now - run.fault_at))
        monitor = run.params.monitor.model_copy(
            update={"recent_window_s": recent,
                    "reference_window_s": max(1, math.floor(run.fault_at - began)),
                    "min_samples": run.options.drift_min_samples}
        )  # fmt: skip
        params = run.params.model_copy(update={"monitor": monitor})
        result = check_traffic(run.log, run.model, params, out_root,
                               now=datetime.fromtimestamp(now, UTC))  # fmt: skip
        alerts = [f for f in result.findings if f.check == "drift" and f.severity == "alert"]
        if run.options.disable_detection or not alerts:
            continue
        for finding in alerts:
            monitoring.record_alert(run.staging, finding)
        planned = monitoring.plan_actions(run.model, "rollback", alerts)
        done = monitoring.apply_actions(run.staging, run.model, planned)
        detection = Detection(
            at=time.time(), by="monitor drift check: " + alerts[0].message[:400],
            detail={"drift": result.drift.model_dump(mode="json"), "actions": done},
            reverted_by=("monitor policy rollback: " + ", ".join(a.kind for a in planned))
            if planned else None, expect_status="approved",
        )  # fmt: skip
        if not planned:
            detection.not_acted = (
                "the monitor's policy took no action on output drift (plan_actions ignores "
                "drift findings even under `rollback`): the canary kept its traffic; the "
                "drill does not act on the policy's behalf"
            )
        return detection
    return Detection(gaps=[f"no drift detected within {run.options.max_detect_s:g} s"])


def wait_reverted(url: str, model: str, version: str, timeout_s: float) -> float | None:
    """When the staging gateway stopped routing to ``version`` (None: it did not)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if not serves_canary(routes_of(url, model), version):
                return time.time()
        except SafeshipError:
            pass
        time.sleep(0.02)
    return None
