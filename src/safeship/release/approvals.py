"""Approval rules, as plain decisions (the release flow asks a person; this judges the answer).

An input is *refused* (recorded, and the run keeps waiting) when the approver is not on
the tier's list, is the author, already approved, or was shown an artifact or safety
profile hash that no longer matches. A valid *reject* ends the release. Approvals are
complete when enough distinct approvers have approved.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from safeship.config import TierPolicy

Decision = Literal["approve", "reject"]
Outcome = Literal["accepted", "refused", "rejected"]


class ApprovalInput(BaseModel):
    """What an approver submits (the Prefect form and `safeship approve` send this)."""

    approver: str = Field(min_length=1, description="your name, as listed in params.yaml")
    decision: Decision = Field(default="approve", description="approve or reject the release")
    comment: str = Field(default="", description="why (shown in the release bundle)")


class Shown(BaseModel):
    """The hashes an approver was shown: the artifact and the safety profile."""

    artifact_hash: str
    profile_hash: str


class Verdict(BaseModel):
    outcome: Outcome
    reason: str
    approver: str
    decision: Decision
    comment: str
    artifact_hash: str
    profile_hash: str


def judge(
    submitted: ApprovalInput,
    *,
    policy: TierPolicy,
    tier: str,
    author: str | None,
    shown: Shown,
    current: Shown,
    approved_by: set[str],
) -> Verdict:
    """Decide what one submitted approval means."""

    def verdict(outcome: Outcome, reason: str) -> Verdict:
        return Verdict(
            outcome=outcome,
            reason=reason,
            approver=submitted.approver,
            decision=submitted.decision,
            comment=submitted.comment,
            artifact_hash=shown.artifact_hash,
            profile_hash=shown.profile_hash,
        )

    name = submitted.approver.strip()
    if name not in policy.approvers:
        return verdict(
            "refused",
            f"{name!r} is not an approver for {tier}-tier models; approvers: "
            + ", ".join(policy.approvers),
        )
    if author is not None and name == author:
        return verdict("refused", f"{name!r} is the author of this version and may not approve it")
    if shown.artifact_hash != current.artifact_hash:
        return verdict(
            "refused",
            f"the artifact changed since it was shown ({shown.artifact_hash} → "
            f"{current.artifact_hash}); review the new one",
        )
    if shown.profile_hash != current.profile_hash:
        return verdict(
            "refused",
            f"the safety profile changed since it was shown ({shown.profile_hash[:12]} → "
            f"{current.profile_hash[:12]}); review the new one",
        )
    if submitted.decision == "reject":
        return verdict("rejected", f"rejected by {name}: {submitted.comment or 'no comment'}")
    if name in approved_by:
        return verdict("refused", f"{name!r} has already approved; approvals must be distinct")
    return verdict("accepted", f"approved by {name}")


def complete(approved_by: set[str], policy: TierPolicy) -> bool:
    return len(approved_by) >= policy.approvals_required
