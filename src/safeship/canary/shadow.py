"""Shadow evaluation: the candidate answers the same prompts as production; compare pairs.

Pairs come from the request log: the gateway mirrors each stable request to the shadow
version under the same ``request_id`` (and the same sampling seed), so a stable row and a
shadow row with one ``request_id`` are production's and the candidate's answer to one
prompt. Paired tests use that: each prompt is its own control.

* Binary descriptors (error, toxic, PII, guardrail violation, empty, refusal): per
  **caller** (the requester's ``user_hash``, as in the canary), the discordant pairs
  ``b`` (candidate only) and ``c`` (production only). Under the null each discordant pair
  is a fair coin, so a caller is as likely to come out worse (b > c) as better: an exact
  one-sided sign test over callers, the caller as the unit, so one caller with many
  prompts cannot decide alone. A check fails when that p < alpha **and** the paired rate
  increase ``(b - c) / n`` exceeds ``shadow.max_rate_increase``. The pair-level McNemar
  p-value is reported beside it.
* Mean toxicity: a seeded paired bootstrap of the per-prompt difference that resamples
  callers (a cluster bootstrap); the check fails
  when the lower (1 - alpha) bound of the mean increase exceeds
  ``shadow.max_mean_toxicity_increase``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from safeship.params import SafetyParams, ShadowParams

BINARY = ("error", "toxic", "pii", "guardrail_violation", "empty", "refusal")


class PairedCheck(BaseModel):
    metric: str
    production: float
    candidate: float
    increase: float
    bound: float
    p_value: float | None = None
    discordant: list[int] | None = None  # [candidate only, production only]
    callers: list[int] | None = None  # callers [worse, better] with the candidate
    caller_p_value: float | None = None
    passed: bool


class ShadowResult(BaseModel):
    passed: bool
    pairs: int
    checks: list[PairedCheck] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    drift: dict[str, Any] | None = None


def pair_rows(frame: pd.DataFrame, candidate: str) -> pd.DataFrame:
    """Join stable and shadow rows of one request: prompt, outputs, statuses per side."""
    columns = ["request_id", "prompt", "output", "status"]
    if "user_hash" in frame.columns:
        columns.append("user_hash")
    stable = frame[frame["role"] == "stable"][columns]
    shadow = frame[(frame["role"] == "shadow") & (frame["version"] == candidate)][
        ["request_id", "output", "status"]
    ]
    stable = stable.drop_duplicates("request_id")
    shadow = shadow.drop_duplicates("request_id")
    merged = stable.merge(shadow, on="request_id", suffixes=("_production", "_candidate"))
    caller = merged["user_hash"] if "user_hash" in merged.columns else merged["request_id"]
    merged["caller"] = caller.where(caller.notna(), "req:" + merged["request_id"].astype(str))
    return merged.reset_index(drop=True)


def caller_sign_test(
    callers: pd.Series, cand: npt.NDArray[np.bool_], prod: npt.NDArray[np.bool_]
) -> tuple[int, int, float]:
    """Callers worse and better with the candidate, and the one-sided sign test's p."""
    import pandas as pd

    net = pd.Series(cand.astype(int) - prod.astype(int)).groupby(callers.to_numpy()).sum()
    worse, better = int((net > 0).sum()), int((net < 0).sum())
    return worse, better, mcnemar_one_sided(worse, better)


def mcnemar_one_sided(b: int, c: int) -> float:
    """P(X >= b) for X ~ Binomial(b + c, 1/2): candidate worse on the discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(b, n + 1))
    return min(1.0, float(tail) / float(2**n))


def describe_side(
    outputs: list[str | None],
    statuses: list[int],
    guardrails: SafetyParams.Guardrails | None,
    toxic_score: float,
) -> pd.DataFrame:
    """Descriptors of one side: the scorer columns plus ``error`` and ``toxic`` flags."""
    from safeship.safety.scorers import score_outputs

    scores = score_outputs(["" if o is None else str(o) for o in outputs], guardrails)
    scores["error"] = [int(s) != 200 for s in statuses]
    scores["toxic"] = scores["toxicity"] >= toxic_score
    for column in ("pii", "guardrail_violation", "empty", "refusal"):
        scores[column] = scores[column].astype(bool) & ~scores["error"]
    return scores


def _binary_check(
    metric: str,
    pairs: pd.DataFrame,
    production: pd.DataFrame,
    candidate: pd.DataFrame,
    params: ShadowParams,
) -> PairedCheck:
    """A paired rate: McNemar on the pairs, a sign test with the caller as the unit."""
    prod = production[metric].to_numpy(dtype=bool)
    cand = candidate[metric].to_numpy(dtype=bool)
    b = int((cand & ~prod).sum())
    c = int((prod & ~cand).sum())
    worse, better, caller_p = caller_sign_test(pairs["caller"], cand, prod)
    increase = (b - c) / len(pairs)
    bound = params.max_rate_increase.get(metric, 0.0)
    return PairedCheck(
        metric=f"{metric}_rate",
        production=float(prod.mean()),
        candidate=float(cand.mean()),
        increase=increase,
        bound=bound,
        p_value=mcnemar_one_sided(b, c),
        discordant=[b, c],
        callers=[worse, better],
        caller_p_value=caller_p,
        passed=not (caller_p < params.alpha and increase > bound),
    )


def _toxicity_check(
    pairs: pd.DataFrame, production: pd.DataFrame, candidate: pd.DataFrame, params: ShadowParams
) -> PairedCheck:
    """Mean toxicity increase, judged on a cluster bootstrap that resamples callers (with
    all their pairs), not single pairs."""
    import numpy as np

    diff = candidate["toxicity"].to_numpy(float) - production["toxicity"].to_numpy(float)
    codes, _ = pairs["caller"].factorize()
    sums, counts = np.bincount(codes, weights=diff), np.bincount(codes)
    rng = np.random.default_rng(params.seed)
    index = rng.integers(0, len(sums), size=(params.bootstrap_resamples, len(sums)))
    low = float(np.quantile(sums[index].sum(axis=1) / counts[index].sum(axis=1), params.alpha))
    bound = params.max_mean_toxicity_increase
    return PairedCheck(
        metric="mean_toxicity",
        production=float(production["toxicity"].mean()),
        candidate=float(candidate["toxicity"].mean()),
        increase=float(diff.mean()),
        bound=bound,
        p_value=None,
        passed=not low > bound,
    )


def _reason(check: PairedCheck) -> str:
    detail = (
        f"; callers worse/better {check.callers[0]}/{check.callers[1]}, caller sign test "
        f"p={check.caller_p_value:.2g}, pair McNemar p={check.p_value:.2g})"
        if check.callers is not None
        and check.caller_p_value is not None
        and check.p_value is not None
        else ")"
    )
    return (
        f"shadow {check.metric}: candidate {check.candidate:.3f} vs production "
        f"{check.production:.3f} (paired increase {check.increase:.3f} > allowed "
        f"{check.bound:.3f}" + detail
    )


def compare_pairs(
    pairs: pd.DataFrame, params: ShadowParams, guardrails: SafetyParams.Guardrails | None
) -> tuple[ShadowResult, pd.DataFrame, pd.DataFrame]:
    """Decide on paired outputs; also returns both sides' descriptors (for drift)."""
    production = describe_side(
        pairs["output_production"].tolist(),
        pairs["status_production"].tolist(),
        guardrails,
        params.toxic_score,
    )
    candidate = describe_side(
        pairs["output_candidate"].tolist(),
        pairs["status_candidate"].tolist(),
        guardrails,
        params.toxic_score,
    )
    n = len(pairs)
    if n < params.min_pairs:
        reason = f"only {n} shadow pairs; shadow.min_pairs is {params.min_pairs}"
        return ShadowResult(passed=False, pairs=n, reasons=[reason]), production, candidate
    checks = [_binary_check(m, pairs, production, candidate, params) for m in BINARY]
    checks.append(_toxicity_check(pairs, production, candidate, params))
    reasons = [_reason(c) for c in checks if not c.passed]
    result = ShadowResult(passed=not reasons, pairs=n, checks=checks, reasons=reasons)
    return result, production, candidate
