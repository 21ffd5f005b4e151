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

if TYPE_CHECKING:  # `X as X`: an explicit re-export
    from safeship.params.base import (
        RISK_TIERS as RISK_TIERS,
    )
    from safeship.params.base import (
        RiskTier as RiskTier,
    )
    from safeship.params.document import (
        Params as Params,
    )
    from safeship.params.document import (
        load_params as load_params,
    )
    from safeship.params.document import (
        parse_params as parse_params,
    )
    from safeship.params.pipeline import (
        PrepareParams as PrepareParams,
    )
    from safeship.params.pipeline import (
        TrainParams as TrainParams,
    )
    from safeship.params.pipeline import (
        ValidateParams as ValidateParams,
    )
    from safeship.params.release import (
        AccessParams as AccessParams,
    )
    from safeship.params.release import (
        ReleaseParams as ReleaseParams,
    )
    from safeship.params.release import (
        ScheduledTarget as ScheduledTarget,
    )
    from safeship.params.release import (
        TierPolicy as TierPolicy,
    )
    from safeship.params.safety import (
        SafetyParams as SafetyParams,
    )
    from safeship.params.serving import (
        CanaryParams as CanaryParams,
    )
    from safeship.params.serving import (
        MonitorParams as MonitorParams,
    )
    from safeship.params.serving import (
        Policy as Policy,
    )
    from safeship.params.serving import (
        ServingParams as ServingParams,
    )
    from safeship.params.serving import (
        ShadowParams as ShadowParams,
    )

#: where each name lives (imported on first use)
_HOMES = {
    "RISK_TIERS": "base",
    "RiskTier": "base",
    "AccessParams": "release",
    "ReleaseParams": "release",
    "ScheduledTarget": "release",
    "TierPolicy": "release",
    "PrepareParams": "pipeline",
    "TrainParams": "pipeline",
    "ValidateParams": "pipeline",
    "SafetyParams": "safety",
    "CanaryParams": "serving",
    "MonitorParams": "serving",
    "Policy": "serving",
    "ServingParams": "serving",
    "ShadowParams": "serving",
    "Params": "document",
    "load_params": "document",
    "parse_params": "document",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"safeship.params.{home}"), name)
