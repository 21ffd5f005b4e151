"""Shadow and canary evaluation: sequential canary analysis, paired shadow comparison,
and crash safety for a rollout that died (see the modules)."""

from __future__ import annotations

from safeship.canary.analysis import ArmStats, Breach, StepWindow, Verdict, analyse, summarise
from safeship.canary.stale import repair_stale_canary

__all__ = [
    "ArmStats",
    "Breach",
    "StepWindow",
    "Verdict",
    "analyse",
    "repair_stale_canary",
    "summarise",
]
