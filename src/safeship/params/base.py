"""What every params.yaml section shares: unknown keys are errors; the risk tiers."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class RiskTier(StrEnum):
    """How much testing and how many approvals a model's releases need (params.yaml)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


RISK_TIERS: tuple[RiskTier, ...] = tuple(RiskTier)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
