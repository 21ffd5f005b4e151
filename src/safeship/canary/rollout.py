"""The canary rollout as one state machine: steps, checks, decisions and actions.

For each weight in ``canary.steps``: move the canary to that weight, then every
``check_interval_s`` read the step's request-log rows, score the new ones, and judge
everything seen so far (:func:`safeship.canary.analysis.analyse`). ``continue`` waits for
the next check; ``next_step`` moves on; ``rollback`` takes the canary to weight 0 and
rejects the candidate at once; ``inconclusive`` (the step ran out of time, e.g. no
traffic) follows ``canary.inconclusive``: ``rollback``, ``hold`` (weight 0, the candidate
stays approved) or ``promote`` (move on, recorded as such — never silently). After each
step the step's Evidently drift report (canary vs stable outputs) is written and linked
from the step's record.

Every side effect comes in through :class:`Effects`, so the Prefect flow, the drills, the
tests and the benchmarks all run this same loop: the flow with tasks, a drill against its
staging gateway, a simulation with a virtual clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from safeship.canary.analysis import Verdict, analyse
from safeship.canary.observations import Observations, Scorer

if TYPE_CHECKING:
    import pandas as pd

    from safeship.params import CanaryParams

LATE_ROWS_S = 5.0
Outcome = Literal["passed", "rolled_back", "held", "stopped"]
Judge = Callable[..., Verdict]
DriftWriter = Callable[[int, int, "pd.DataFrame", "pd.DataFrame"], dict[str, Any]]


@dataclass
class Effects:
    """The loop's side effects.

    * ``now()``: the clock (epoch seconds).
    * ``wait(seconds)``: pass the time until the next check (sleep, or replay traffic);
      returns how many requests it sent itself (0 when it only waited).
    * ``read(since, until)``: request-log rows of the model in ``[since, until)``.
    * ``set_weight(weight)``: move the canary to ``weight`` and return when the gateway
      serves it (the step's start, epoch seconds).
    * ``abort(reason, payload, reject)``: weight 0 at once; ``reject`` the candidate.
    * ``record(verdict)``: record one check (the ledger's ``canary.analysis`` event).
    * ``drift(step, weight, reference, current)``: write the step's drift report; returns
      its summary with the paths (None: no report is written).
    * ``promote(reason)``: make the candidate production after the last step (None: the
      caller promotes, as the release flow does).
    * ``stop()``: True ends the loop without acting (a drill's time limit).
    """

    now: Callable[[], float]
    wait: Callable[[float], int]
    read: Callable[[float, float], pd.DataFrame]
    set_weight: Callable[[int], float]
    abort: Callable[[str, dict[str, Any], bool], None]
    record: Callable[[Verdict], None]
    drift: DriftWriter | None = None
    promote: Callable[[str], None] | None = None
    stop: Callable[[], bool] = field(default=lambda: False)


@dataclass
class RolloutResult:
    outcome: Outcome
    steps: list[dict[str, Any]]
    verdict: Verdict | None = None  # the last verdict
    reason: str = ""
    acted_at: float | None = None  # when the loop took the canary off (abort)


def _step_drift(
    obs: Observations, index: int, weight: int, drift: DriftWriter | None
) -> dict[str, Any] | None:
    """The step's canary outputs against stable outputs of the same step (at 100%: of the
    earlier steps); None when either side has no rows or no writer was given."""
    if drift is None:
        return None
    rows = obs.scored()
    if rows.empty:
        return {"written": False, "reason": "no requests in this step"}
    current = rows[(rows["step"] == index) & (rows["arm"] == "canary")]
    stable = rows[rows["arm"] == "stable"]
    reference = stable[stable["step"] == index] if weight < 100 else stable
    if current.empty or reference.empty:
        return {"written": False, "reason": "a side had no requests in this step",
                "rows": {"reference": len(reference), "current": len(current)}}  # fmt: skip
    try:
        return {"written": True, **drift(index, weight, reference, current)}
    except Exception as error:  # a failed report is recorded, never a reason to go on blind
        return {"written": False, "reason": f"drift report failed: {error}"}


def _record(verdict: Verdict, sent: int, drift: dict[str, Any] | None) -> dict[str, Any]:
    record = {**verdict.model_dump(mode="json"), "replayed": sent, "drift": drift}
    if drift and drift.get("written"):
        share = drift.get("drift_share")
        record["reason"] = (
            f"{verdict.reason}; drift report {drift.get('html')}: "
            f"{drift.get('drifted_columns')} of {len(drift.get('columns') or [])} output "
            f"descriptors drifted (share {share})"
        )
    return record


def run_rollout(
    params: CanaryParams,
    candidate: str,
    effects: Effects,
    score: Scorer,
    *,
    judge: Judge = analyse,
) -> RolloutResult:
    """Step ``candidate`` through ``params.steps``; see the module docstring."""
    obs = Observations()
    # each check reads the rows since the previous one, plus a margin for rows the
    # gateway logs late (they are deduplicated by request id)
    lookback = 2 * params.check_interval_s + LATE_ROWS_S
    steps: list[dict[str, Any]] = []
    verdict: Verdict | None = None
    for index, weight in enumerate(params.steps):
        since = effects.set_weight(weight)
        sent, read_from = 0, since
        while True:
            sent += effects.wait(params.check_interval_s)
            now = effects.now()
            obs.add(effects.read(read_from, now), candidate=candidate, step=index,
                    weight=weight, score=score)  # fmt: skip
            read_from = max(since, now - lookback)
            verdict = judge(obs, params, step=index, weight=weight, elapsed_s=now - since,
                            last_step=index == len(params.steps) - 1, checked_at=now)  # fmt: skip
            effects.record(verdict)
            if verdict.decision != "continue":
                break
            if effects.stop():
                steps.append(_record(verdict, sent, None))
                return RolloutResult("stopped", steps, verdict, "stopped before a decision")
        action = verdict.action if verdict.decision == "inconclusive" else verdict.decision
        if action in ("rollback", "hold"):
            reject = action == "rollback"
            payload = verdict.breach.model_dump() if verdict.breach else {"inconclusive": True}
            effects.abort(verdict.reason, {**payload, "step": weight}, reject)
            acted = effects.now()
            steps.append(_record(verdict, sent, _step_drift(obs, index, weight, effects.drift)))
            outcome: Outcome = "rolled_back" if reject else "held"
            return RolloutResult(outcome, steps, verdict, verdict.reason, acted)
        steps.append(_record(verdict, sent, _step_drift(obs, index, weight, effects.drift)))
    if effects.promote is not None:
        effects.promote("the canary passed every step")
    return RolloutResult("passed", steps, verdict, "passed every step")
