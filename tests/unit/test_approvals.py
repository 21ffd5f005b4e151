from __future__ import annotations

from safeship.config import TierPolicy
from safeship.release.approvals import ApprovalInput, Shown, complete, judge

POLICY = TierPolicy(approvers=["alice", "bob", "carol"], approvals_required=2)
SHOWN = Shown(artifact_hash="a.dir", profile_hash="p" * 64)


def _judge(
    name: str, decision: str = "approve", current: Shown = SHOWN, done: set[str] | None = None
):  # type: ignore[no-untyped-def]
    return judge(
        ApprovalInput(approver=name, decision=decision),
        policy=POLICY,
        tier="high",  # type: ignore[arg-type]
        author="dave",
        shown=SHOWN,
        current=current,
        approved_by=done or set(),
    )


def test_outcomes() -> None:
    assert _judge("alice").outcome == "accepted"
    assert "not an approver" in _judge("mallory").reason
    assert _judge("mallory").outcome == "refused"
    author_policy = TierPolicy(approvers=["dave"], approvals_required=1)
    verdict = judge(
        ApprovalInput(approver="dave"),
        policy=author_policy,
        tier="low",
        author="dave",
        shown=SHOWN,
        current=SHOWN,
        approved_by=set(),
    )
    assert verdict.outcome == "refused" and "author" in verdict.reason
    assert _judge("alice", done={"alice"}).outcome == "refused"
    assert _judge("bob", "reject").outcome == "rejected"
    changed = Shown(artifact_hash="b.dir", profile_hash=SHOWN.profile_hash)
    assert "artifact changed" in _judge("alice", current=changed).reason
    changed_profile = Shown(artifact_hash="a.dir", profile_hash="q" * 64)
    assert "safety profile changed" in _judge("alice", current=changed_profile).reason


def test_complete_needs_distinct_approvers() -> None:
    assert not complete({"alice"}, POLICY)
    assert complete({"alice", "bob"}, POLICY)
