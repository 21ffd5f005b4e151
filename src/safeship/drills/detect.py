"""Detection and revert per scenario, with the real detectors: the canary analysis
(request-log windows, :func:`safeship.canary.analysis.analyse`) on staging, or the
monitor's integrity and drift checks (:mod:`safeship.monitoring.policy`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from safeship.drills.scenarios import ACTOR, shifted_prompts, tamper_one_byte
from safeship.drills.support import Detection, DrillRun, canary_params, routes_of, serves_canary
from safeship.errors import SafeshipError


def canary_rollout(run: DrillRun) -> Detection:
    """The canary rollout's loop on staging: real request-log windows, real analysis."""
    from safeship.canary.analysis import StepWindow, analyse, summarise

    cp = canary_params(run.params, run.options)
    windows: list[StepWindow] = []
    for index, weight in enumerate(cp.steps):
        run.set_canary(weight)
        since = time.time()
        if index == 0:
            run.onset()
        while True:
            time.sleep(cp.check_interval_s)
            run.gateway.flush_log()
            now = time.time()
            window = summarise(
                run.log.query(run.model, since=since, until=now), candidate=run.candidate.version,
                step=index, weight=weight, guardrails=run.params.safety.guardrails,
                toxic_score=cp.toxic_score,
            )  # fmt: skip
            verdict = analyse(
                [*windows, window], cp, elapsed_s=now - since, last_step=index == len(cp.steps) - 1
            )
            if run.options.disable_detection:
                verdict = verdict.model_copy(
                    update={"decision": "continue", "breach": None, "reason": "analysis disabled"}
                )
            run.staging.record(
                "canary.analysis", actor=ACTOR, model=run.model, version=run.candidate.version,
                payload={"step": index, "weight": weight, "decision": verdict.decision,
                         "canary_n": window.canary.n, "stable_n": window.stable.n,
                         "breach": verdict.breach.model_dump() if verdict.breach else None},
            )  # fmt: skip
            if verdict.decision != "continue" or run.timed_out():
                break
        if verdict.decision == "continue":
            return Detection(gaps=[f"nothing detected within {run.options.max_detect_s:g} s"])
        windows.append(window)
        action = verdict.action if verdict.decision == "inconclusive" else verdict.decision
        if action in ("rollback", "hold"):
            run.staging.abort_canary(
                run.model, run.candidate.version, actor=ACTOR, reason=verdict.reason,
                reject=action == "rollback", payload={"step": weight, "drill": True},
            )  # fmt: skip
            detected = Detection(
                at=now, by=f"canary analysis at {weight}%: {verdict.reason}",
                detail=verdict.model_dump(mode="json"), reverted_by="abort_canary (weight 0)",
                expect_status="rejected" if action == "rollback" else "approved",
            )  # fmt: skip
            if verdict.decision == "inconclusive":
                detected.gaps.append(f"the analysis was inconclusive: {verdict.reason}")
            return detected
    run.staging.promote(run.model, run.candidate.version, actor=ACTOR,
                        reason="drill: the canary passed every step")  # fmt: skip
    return Detection(gaps=["the canary analysis passed the faulty candidate; it was promoted"])


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
        reason = f"drill: output drift during the canary: {alerts[0].message[:300]}"
        run.staging.abort_canary(run.model, run.candidate.version, actor=ACTOR, reason=reason,
                                 reject=False, payload={"drill": True})  # fmt: skip
        detection = Detection(
            at=time.time(), by="monitor drift check: " + alerts[0].message[:400],
            detail={"drift": result.drift.model_dump(mode="json")},
            reverted_by="canary held (abort_canary, back to approved)", expect_status="approved",
        )  # fmt: skip
        if not planned:
            detection.gaps.append(
                "the monitor's policy takes no action on output drift (plan_actions ignores "
                "drift findings even under `rollback`): the drill held the canary itself; the "
                "scheduled monitor would only alert while the canary kept its traffic"
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
