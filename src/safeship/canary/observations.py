"""What a rollout has seen: every canary and stable request of every step, scored once.

Request-log rows are turned into per-request flags (error, toxic, PII, guardrail
violation, refusal, low quality) and the caller who sent them (``user_hash``; a request
without one is its own caller, as the gateway routes it at random). Rows are kept in
arrays so each check's analysis is a few vectorised passes, however long the rollout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from safeship.params import SafetyParams

FLAGS: tuple[str, ...] = ("error", "toxic", "pii", "guardrail", "refusal", "low_quality")
#: numeric descriptors kept for the step's Evidently drift report
DESCRIPTORS: tuple[str, ...] = ("chars", "words", "toxicity", "sentiment")
MIN_WORDS = 3  # an answer (HTTP 200) with fewer words is low quality, as is an empty one

Scorer = Callable[["pd.DataFrame"], "pd.DataFrame"]


def text_scorer(guardrails: SafetyParams.Guardrails | None, toxic_score: float) -> Scorer:
    """Flags from the outputs' text with the project's scorers (answered requests only:
    an error is an error, not also a toxic or empty answer)."""

    def score(rows: pd.DataFrame) -> pd.DataFrame:
        from safeship.safety.scorers import score_outputs

        ok = (rows["status"] == 200).to_numpy()
        scores = score_outputs(rows["output"].fillna("").astype(str).tolist(), guardrails)
        out = scores[list(DESCRIPTORS)].astype(float)
        out["error"] = ~ok
        out["toxic"] = ok & (scores["toxicity"] >= toxic_score).to_numpy()
        out["pii"] = ok & scores["pii"].astype(bool).to_numpy()
        out["guardrail"] = ok & scores["guardrail_violation"].astype(bool).to_numpy()
        out["refusal"] = ok & scores["refusal"].astype(bool).to_numpy()
        degenerate = scores["empty"].astype(bool) | (scores["words"] < MIN_WORDS)
        out["low_quality"] = ok & degenerate.to_numpy()
        return out.reset_index(drop=True)

    return score


class Observations:
    """The rollout's scored requests, in the order they were read (time order per step)."""

    def __init__(self) -> None:
        import numpy as np

        self._seen: set[str] = set()
        self._callers: dict[str, int] = {}
        self.frames: list[pd.DataFrame] = []  # scored rows per read, for drift reports
        self.caller = np.zeros(0, dtype=np.int64)
        self.canary = np.zeros(0, dtype=bool)
        self.weight = np.zeros(0, dtype=np.float64)
        self.step = np.zeros(0, dtype=np.int64)
        self.latency = np.zeros(0, dtype=np.float64)
        self.flags: dict[str, npt.NDArray[np.bool_]] = {f: np.zeros(0, dtype=bool) for f in FLAGS}

    def __len__(self) -> int:
        return len(self.caller)

    def add(
        self, rows: pd.DataFrame, *, candidate: str, step: int, weight: int, score: Scorer
    ) -> int:
        """Score and keep the canary (``candidate``) and stable rows not seen before."""
        import numpy as np

        if rows.empty:
            return 0
        ids = rows["request_id"].astype(str).to_numpy()
        role = rows["role"].astype(str).to_numpy()
        keep = ((role == "canary") & (rows["version"] == candidate).to_numpy()) | (role == "stable")
        keep &= np.fromiter((i not in self._seen for i in ids), dtype=bool, count=len(ids))
        if not keep.any():
            return 0
        new = rows[keep].reset_index(drop=True)
        self._seen.update(ids[keep])
        scored = score(new)
        users = new["user_hash"].to_numpy()
        codes = np.fromiter(
            (self._callers.setdefault(str(u) if u is not None else f"req:{r}", len(self._callers))
             for u, r in zip(users, ids[keep], strict=True)),
            dtype=np.int64, count=len(new),
        )  # fmt: skip
        canary = role[keep] == "canary"
        scored["arm"] = np.where(canary, "canary", "stable")
        scored["step"] = step
        self.frames.append(scored)
        self.caller = np.concatenate([self.caller, codes])
        self.canary = np.concatenate([self.canary, canary])
        self.weight = np.concatenate([self.weight, np.full(len(new), float(weight))])
        self.step = np.concatenate([self.step, np.full(len(new), step, dtype=np.int64)])
        latency = new["latency_ms"].to_numpy(dtype=float)
        self.latency = np.concatenate([self.latency, latency])
        for flag in FLAGS:
            self.flags[flag] = np.concatenate([self.flags[flag], scored[flag].to_numpy(dtype=bool)])
        return len(new)

    def scored(self, step: int | None = None) -> pd.DataFrame:
        """Scored rows (of one step, or all) with ``arm`` and ``step`` columns."""
        import pandas as pd

        frames = [f for f in self.frames if step is None or int(f["step"].iloc[0]) == step]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def callers_in(self, mask: npt.NDArray[np.bool_]) -> int:
        import numpy as np

        return len(np.unique(self.caller[mask]))
