"""Tasks of shadow evaluation and the canary rollout. Each does one thing and calls the core
(:mod:`safeship.canary`, :mod:`safeship.monitoring.drift`, :mod:`safeship.testing.traffic`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeship.canary.analysis import Verdict
from safeship.canary.runtime import (
    gateway_health,
    open_log,
    read_window,
    replay_prompts,
    wait_for_routing,
)
from safeship.config import Settings
from safeship.events import EventKind
from safeship.params import Params
from tasks.common import open_registry, task

if TYPE_CHECKING:
    import pandas as pd

ACTOR = "safeship-canary"


@task(name="check-gateway")
def check_gateway_task(url: str) -> dict[str, Any]:
    return gateway_health(url)


@task(name="set-shadow")
def set_shadow_task(model: str, version: str | None, url: str, reason: str) -> None:
    with open_registry() as registry:
        if registry.deployment(model).shadow != version:
            registry.set_shadow(model, version, actor=ACTOR, reason=reason)
    wait_for_routing(url, model, shadow=version)


@task(name="set-canary-weight")
def set_canary_task(model: str, version: str, weight: int, url: str) -> float:
    """Move the canary to ``weight``; returns when the gateway serves it (the step start)."""
    with open_registry() as registry:
        registry.set_canary(model, version, weight, actor=ACTOR, reason=f"canary step {weight}%")
    wait_for_routing(url, model, canary=(version, weight))
    return time.time()


@task(name="replay-prompts")
def replay_prompts_task(model: str) -> list[str]:
    log = open_log(Settings.from_env())
    try:
        return replay_prompts(log, model)
    finally:
        log.engine.dispose()


@task(name="replay-traffic")
def replay_task(
    url: str, model: str, prompts: list[str], *, rate: float, duration_s: float,
    users: int, seed: int, max_requests: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Send prompts through the gateway (no live traffic to judge by)."""
    from safeship.testing.traffic import TrafficConfig, run_traffic

    config = TrafficConfig(
        url=url, model=model, rate=rate, duration_s=duration_s, prompts=prompts, users=users,
        max_requests=max_requests, seed=seed, user_prefix="safeship-replay",
    )  # fmt: skip
    return run_traffic(config).as_dict()


@task(name="live-traffic-rate")
def live_rate_task(model: str, since: float, until: float, replayed: int) -> float:
    """Requests/s the gateway answered for ``model`` in the window, our replay excluded."""
    log = open_log(Settings.from_env())
    try:
        count = len(log.query(model, since=since, until=until))
    finally:
        log.engine.dispose()
    return max(0, count - replayed) / max(until - since, 1e-6)


@task(name="shadow-compare")
def shadow_compare_task(
    model: str, candidate: str, since: float, expected: int, params: Params, out_dir: Path
) -> dict[str, Any]:
    """Pair stable and shadow answers from the request log, decide, write the drift report."""
    from safeship.canary.shadow import compare_pairs, pair_rows
    from safeship.monitoring.drift import drift_report

    log = open_log(Settings.from_env())
    deadline = time.monotonic() + params.shadow.timeout_s
    try:
        while True:  # mirrored answers arrive after the stable ones; wait for them
            pairs = pair_rows(log.query(model, since=since), candidate)
            if len(pairs) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        log.engine.dispose()
    result, production, cand = compare_pairs(pairs, params.shadow, params.safety.guardrails)
    if len(pairs):
        result.drift = drift_report(
            production, cand, out_dir, method=params.shadow.drift_method,
            threshold=params.shadow.drift_threshold, name="shadow_drift",
        )  # fmt: skip
    out = result.model_dump(mode="json")
    out["expected_pairs"] = expected
    return out


@task(name="read-request-log")
def read_window_task(model: str, since: float, until: float) -> pd.DataFrame:
    """The model's request-log rows in ``[since, until)``."""
    log = open_log(Settings.from_env())
    try:
        return read_window(log, model, since, until)
    finally:
        log.engine.dispose()


@task(name="record-canary-check")
def record_check_task(model: str, candidate: str, verdict: Verdict) -> None:
    """One check in the ledger: the progress event that tells the watchdog the rollout is
    alive, with the decision and the caller-level evidence behind it."""
    with open_registry() as registry:
        registry.record(
            EventKind.CANARY_ANALYSIS, actor=ACTOR, model=model, version=candidate,
            payload={"step": verdict.step, "weight": verdict.weight,
                     "decision": verdict.decision, "canary_n": verdict.canary_n,
                     "stable_n": verdict.stable_n, "canary_callers": verdict.canary_callers,
                     "stable_callers": verdict.stable_callers,
                     "breach": verdict.breach.model_dump() if verdict.breach else None},
        )  # fmt: skip


@task(name="canary-step-drift")
def step_drift_task(
    reference: pd.DataFrame, current: pd.DataFrame, out_dir: Path, step: int, weight: int,
    params: Params,
) -> dict[str, Any]:  # fmt: skip
    """The step's Evidently drift report (self-contained HTML + JSON): canary outputs
    against the stable outputs they were compared with."""
    from safeship.canary.observations import DESCRIPTORS
    from safeship.monitoring.drift import drift_report

    return drift_report(
        reference, current, out_dir / f"step-{step + 1}-{weight}pct",
        method=params.shadow.drift_method, threshold=params.shadow.drift_threshold,
        columns=DESCRIPTORS, name="canary_drift",
    )  # fmt: skip


@task(name="abort-canary")
def abort_canary_task(
    model: str, candidate: str, reason: str, payload: dict[str, Any], reject: bool = True
) -> None:
    """Weight 0 at once and the candidate rejected (or back to approved), one event."""
    with open_registry() as registry:
        registry.abort_canary(
            model, candidate, actor=ACTOR, reason=reason, reject=reject, payload=payload
        )


@task(name="repair-stale-canary")
def repair_stale_task(model: str, max_age_s: float) -> bool:
    from safeship.canary import repair_stale_canary

    with open_registry() as registry:
        return repair_stale_canary(registry, model, max_age_s=max_age_s)
