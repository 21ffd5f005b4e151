"""Release parameters: a pydantic model, so the Prefect UI renders it as a form."""

from __future__ import annotations

from pydantic import BaseModel, Field

from safeship.params import RiskTier


class ReleaseRequest(BaseModel):
    """What to release."""

    model: str = Field(min_length=1, description="model name")
    candidate_path: str = Field(
        min_length=1,
        description="the candidate's folder (a DVC stage output), relative to the project root",
    )
    version: str | None = Field(
        default=None,
        description="semantic version; leave empty to use the bump the lineage diff suggests",
    )
    notes: str = Field(default="", description="change notes for the release")
    author: str = Field(default="ml-team", min_length=1, description="who built this version")
    risk_tier: RiskTier | None = Field(
        default=None, description="only for a model's first version (default medium)"
    )
