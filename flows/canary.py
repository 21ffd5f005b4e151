"""Shadow evaluation and the canary rollout, as subflows of the release flow.

``shadow_evaluation``: the candidate becomes the gateway's shadow; prompts (recorded
production prompts, else the built-in list) are replayed through the gateway, so
production answers them and the candidate answers mirrored copies; the pairs are compared
(paired tests) and an Evidently drift report is written. Then the shadow is cleared.

``canary_rollout``: wires tasks (registry moves, request-log reads, ledger records, drift
reports, traffic replay when live traffic is thin) into the one rollout loop of the core,
:func:`safeship.canary.rollout.run_rollout`, which decides. A breach takes the canary to
weight 0 at once and rejects the candidate (one ledger event); the run publishes an
artifact and ends Failed. If this run
is killed mid-canary, the monitor flow (``repair_stale_canary``) or the next release run
takes the canary off once ``canary.stale_after_s`` passes without a check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from safeship.canary.observations import text_scorer
from safeship.canary.rollout import Effects, run_rollout
from safeship.canary.runtime import gateway_url
from safeship.errors import SafeshipError
from safeship.params import Params
from tasks import canary as c
from tasks.common import artifact_key, load_params_task


class CanaryRolledBack(SafeshipError):
    """The canary breached a bound and was rolled back (``steps`` holds every step)."""

    def __init__(self, message: str, steps: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.steps = steps


@flow(name="shadow-evaluation", log_prints=True)
def shadow_evaluation(model: str, candidate: str, out_dir: str | None = None) -> dict[str, Any]:
    """Mirror replayed traffic to the candidate (shadow), compare paired outputs with
    production (McNemar, paired bootstrap) and write an Evidently drift report."""
    logger = get_run_logger()
    params = load_params_task()
    url = gateway_url(params)
    c.check_gateway_task(url)
    prompts = c.replay_prompts_task(model)
    target = Path(out_dir) if out_dir else Path("reports") / model / candidate / "shadow"
    c.set_shadow_task(model, candidate, url, "shadow evaluation")
    try:
        since = time.time()
        sent = c.replay_task(
            url, model, prompts, rate=params.shadow.replay_rate,
            duration_s=params.shadow.prompts / params.shadow.replay_rate + 60,
            users=params.canary.replay_users, seed=params.shadow.seed,
            max_requests=params.shadow.prompts,
        )  # fmt: skip
        result = c.shadow_compare_task(model, candidate, since, sent["ok"], params, target)
    finally:
        c.set_shadow_task(model, None, url, "shadow evaluation finished")
    result["replay"] = sent
    logger.info(
        "shadow %s %s: %s pairs, passed=%s", model, candidate, result["pairs"], result["passed"]
    )
    create_table_artifact(
        [{k: v for k, v in check.items() if k != "discordant"} for check in result["checks"]],
        key=artifact_key("shadow", model),
        description=f"shadow comparison of {model} {candidate} with production",
    )
    return result


def _pacer(url: str, model: str, prompts: list[str], params: Params) -> Callable[[float], int]:
    """The loop's ``wait``: live traffic alone when there is enough of it, else replay."""
    cp = params.canary
    state = {"seed": 0, "sent": 0}

    def wait(seconds: float) -> int:
        tick = time.time()
        live = c.live_rate_task(model, tick - seconds, tick, state["sent"])
        if live >= cp.live_min_rps:
            state["sent"] = 0
            time.sleep(seconds)
            return 0
        sent = c.replay_task(
            url, model, prompts, rate=cp.replay_rate, duration_s=seconds,
            users=cp.replay_users, seed=state["seed"],
        )  # fmt: skip
        state["seed"] += int(sent["sent"])
        state["sent"] = int(sent["sent"])
        return int(sent["sent"])

    return wait


@flow(name="canary-rollout", log_prints=True)
def canary_rollout(model: str, candidate: str, out_dir: str | None = None) -> dict[str, Any]:
    """Step the candidate through the canary weights with the shipped rollout loop
    (:func:`safeship.canary.rollout.run_rollout`): caller-level sequential tests of errors,
    safety rates, refusals, answer quality and latency, a drift report per step, and an
    automatic rollback on a breach."""
    logger = get_run_logger()
    params = load_params_task()
    cp = params.canary
    url = gateway_url(params)
    c.check_gateway_task(url)
    c.repair_stale_task(model, cp.stale_after_s)
    prompts = c.replay_prompts_task(model)
    target = Path(out_dir) if out_dir else Path("reports") / model / candidate / "canary"
    effects = Effects(
        now=time.time,
        wait=_pacer(url, model, prompts, params),
        read=lambda since, until: c.read_window_task(model, since, until),
        set_weight=lambda weight: c.set_canary_task(model, candidate, weight, url),
        abort=lambda reason, payload, reject: c.abort_canary_task(
            model, candidate, reason, payload, reject
        ),
        record=lambda verdict: c.record_check_task(model, candidate, verdict),
        drift=lambda step, weight, reference, current: c.step_drift_task(
            reference, current, target, step, weight, params
        ),
    )
    result = run_rollout(cp, candidate, effects, text_scorer(params.safety.guardrails,
                                                             cp.toxic_score))  # fmt: skip
    for step in result.steps:
        logger.info("canary %s %s step %d%%: %s (%s)", model, candidate, step["weight"],
                    step["decision"], step["reason"])  # fmt: skip
    if result.outcome in ("rolled_back", "held"):
        weight = result.steps[-1]["weight"]
        _publish(model, candidate, result.steps, f"{result.outcome} at {weight}%: {result.reason}")
        raise CanaryRolledBack(
            f"canary of {model} {candidate} "
            f"{'rolled back' if result.outcome == 'rolled_back' else 'held'} at {weight}%: "
            f"{result.reason}",
            result.steps,
        )
    _publish(model, candidate, result.steps, "passed every step")
    return {"decision": "passed", "steps": result.steps}


def _publish(model: str, candidate: str, steps: list[dict[str, Any]], outcome: str) -> None:
    rows = [
        {
            "weight": s["weight"],
            "decision": s["decision"],
            "canary_n": s["canary_n"],
            "stable_n": s["stable_n"],
            "elapsed_s": s["elapsed_s"],
            "reason": s["reason"],
            "drift_report": (s.get("drift") or {}).get("html"),
        }
        for s in steps
    ]
    create_table_artifact(
        rows, key=artifact_key("canary", model), description=f"canary of {candidate}"
    )
    create_markdown_artifact(
        f"# canary {model} {candidate}: {outcome}\n\n"
        + "\n".join(f"- {r['weight']}%: **{r['decision']}** — {r['reason']}" for r in rows),
        key=artifact_key("canary-summary", model),
        description="canary outcome",
    )
