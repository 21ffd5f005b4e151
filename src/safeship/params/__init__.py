"""``params.yaml``, validated once at the edge: every section has defaults, an unknown key
is an error that names the allowed ones, a bad value names the key, the value and what is
allowed. ``load_params`` reads the file at the project root.

The names live in :mod:`safeship.params.document` and are loaded on first use (PEP 562):
importing one section module (``.base`` for the risk tiers, ``.release`` for the access
policy) does not build every section's pydantic models, which read-only CLI commands
would pay for at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safeship.params.document import (
        RISK_TIERS,
        AccessParams,
        CanaryParams,
        MonitorParams,
        Params,
        Policy,
        PrepareParams,
        ReleaseParams,
        RiskTier,
        SafetyParams,
        ScheduledTarget,
        ServingParams,
        ShadowParams,
        TierPolicy,
        TrainParams,
        ValidateParams,
        load_params,
        parse_params,
    )

__all__ = [
    "AccessParams",
    "CanaryParams",
    "MonitorParams",
    "Params",
    "Policy",
    "PrepareParams",
    "RISK_TIERS",
    "ReleaseParams",
    "RiskTier",
    "SafetyParams",
    "ScheduledTarget",
    "ServingParams",
    "ShadowParams",
    "TierPolicy",
    "TrainParams",
    "ValidateParams",
    "load_params",
    "parse_params",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("safeship.params.document"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
