"""Shadow evaluation and the canary rollout, as subflows of the release flow.

``shadow_evaluation``: the candidate becomes the gateway's shadow; prompts (recorded
production prompts, else the built-in list) are replayed through the gateway, so
production answers them and the candidate answers mirrored copies; the pairs are compared
(paired tests) and an Evidently drift report is written. Then the shadow is cleared.

``canary_rollout``: for each weight in ``canary.steps``, the canary serves that share of
callers while the run checks every ``canary.check_interval_s``, replaying traffic when
live traffic is thin. A breach takes the canary to weight 0 at once and rejects the
candidate (one ledger event), publishes an artifact and ends the run Failed. If this run
is killed mid-canary, the monitor flow (``repair_stale_canary``) or the next release run
takes the canary off once ``canary.stale_after_s`` passes without a check.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from safeship.canary.analysis import StepWindow, Verdict
from safeship.canary.runtime import gateway_url
from safeship.errors import SafeshipError
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


def _step_record(window: StepWindow, verdict: Verdict, replayed: int) -> dict[str, Any]:
    return {**verdict.model_dump(mode="json"), "window": window.model_dump(), "replayed": replayed}


@flow(name="canary-rollout", log_prints=True)
def canary_rollout(model: str, candidate: str) -> dict[str, Any]:
    """Step the candidate through the canary weights with sequential analysis of errors,
    safety rates and latency; roll back automatically on a breach."""
    logger = get_run_logger()
    params = load_params_task()
    cp = params.canary
    url = gateway_url(params)
    c.check_gateway_task(url)
    c.repair_stale_task(model, cp.stale_after_s)
    prompts = c.replay_prompts_task(model)
    windows: list[StepWindow] = []
    steps: list[dict[str, Any]] = []
    seed = 0
    for index, weight in enumerate(cp.steps):
        since = c.set_canary_task(model, candidate, weight, url)
        replayed_total = 0
        while True:
            tick = time.time()
            live = c.live_rate_task(model, tick - cp.check_interval_s, tick, 0)
            if live < cp.live_min_rps:
                sent = c.replay_task(
                    url, model, prompts, rate=cp.replay_rate, duration_s=cp.check_interval_s,
                    users=cp.replay_users, seed=seed,
                )  # fmt: skip
                seed += sent["sent"]
                replayed_total += sent["sent"]
            else:
                time.sleep(cp.check_interval_s)
            window, verdict = c.canary_check_task(
                model, candidate, windows, index, weight, since, params, index == len(cp.steps) - 1
            )
            if verdict.decision != "continue":
                break
        windows.append(window)
        steps.append(_step_record(window, verdict, replayed_total))
        logger.info(
            "canary %s %s step %d%%: %s (%s)",
            model,
            candidate,
            weight,
            verdict.decision,
            verdict.reason,
        )
        action = verdict.action if verdict.decision == "inconclusive" else verdict.decision
        if action in ("rollback", "hold"):
            reject = action == "rollback"
            payload = verdict.breach.model_dump() if verdict.breach else {"inconclusive": True}
            c.abort_canary_task(
                model, candidate, verdict.reason, {**payload, "step": weight}, reject
            )
            _publish(model, candidate, steps, f"rolled back at {weight}%: {verdict.reason}")
            raise CanaryRolledBack(
                f"canary of {model} {candidate} {'rolled back' if reject else 'held'} at "
                f"{weight}%: {verdict.reason}",
                steps,
            )
    _publish(model, candidate, steps, "passed every step")
    return {"decision": "passed", "steps": steps}


def _publish(model: str, candidate: str, steps: list[dict[str, Any]], outcome: str) -> None:
    rows = [
        {
            "weight": s["weight"],
            "decision": s["decision"],
            "canary_n": s["canary_n"],
            "stable_n": s["stable_n"],
            "elapsed_s": s["elapsed_s"],
            "reason": s["reason"],
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
