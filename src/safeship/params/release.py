"""``release`` and ``access``: approvals per risk tier, deployment schedules, roles."""

from __future__ import annotations

from pydantic import Field

from safeship.params.base import RiskTier, _Section


class TierPolicy(_Section):
    approvers: list[str] = Field(default_factory=lambda: ["alice", "bob", "carol"])
    approvals_required: int = Field(default=1, ge=1, le=10)
    approval_timeout_s: int = Field(default=24 * 3600, ge=1)


class ScheduledTarget(_Section):
    """The model (and its DVC stage output) that the scheduled deployments act on."""

    model: str = Field(min_length=1)
    candidate_path: str = Field(min_length=1)


class ReleaseParams(_Section):
    """``release``: approval rules per risk tier, and the schedules of the deployments.

    ``scheduled`` names the model the scheduled-release and rollback-drill deployments act
    on; without it those two deployments are not served (nothing is assumed)."""

    scheduled: ScheduledTarget | None = None

    scheduled_release_cron: str = Field(default="0 6 * * *", min_length=9)
    rollback_drill_cron: str = Field(default="0 7 * * 1", min_length=9)
    monitor_interval_s: int = Field(default=300, ge=10)
    tiers: dict[RiskTier, TierPolicy] = Field(
        default_factory=lambda: {
            RiskTier.LOW: TierPolicy(),
            RiskTier.MEDIUM: TierPolicy(),
            RiskTier.HIGH: TierPolicy(approvals_required=2),
        }
    )


class AccessParams(_Section):
    """``access`` (issue 14): who signs, whose keys are revoked, who may move deployments."""

    enforce: bool = Field(
        default=False, description="require roles and signatures for people's deployment moves"
    )
    allowed_signers: str = Field(default=".allowed_signers", min_length=1)
    revoked_keys: str = Field(default=".revoked_signers", min_length=1)
    signature_max_age_s: int = Field(default=3600, ge=10)
    clock_skew_s: int = Field(default=120, ge=0, le=3600)
    roles: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "promote": ["alice", "bob"],
            "rollback": ["alice", "bob", "carol"],
            "abort_canary": ["alice", "bob", "carol"],
            "force": ["alice"],
        }
    )
