"""Shadow and canary evaluation: the rollout loop (:mod:`.rollout`), its caller-level
sequential analysis (:mod:`.analysis`, :mod:`.sequential`), the paired shadow comparison
and crash safety for a rollout that died (see the modules)."""

from __future__ import annotations

from safeship.canary.analysis import Breach, Verdict, analyse
from safeship.canary.rollout import Effects, RolloutResult, run_rollout
from safeship.canary.stale import repair_stale_canary

__all__ = [
    "Breach",
    "Effects",
    "RolloutResult",
    "Verdict",
    "analyse",
    "repair_stale_canary",
    "run_rollout",
]
