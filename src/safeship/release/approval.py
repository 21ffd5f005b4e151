"""The approval wait of a release as a state machine: the flow only pauses and drives it.

The wait ends in one of three ways: enough distinct, verified approvers (``complete``), a
verified rejection (``rejection`` holds its reason), or the tier's timeout
(``timed_out``). Each verdict the flow gets from :func:`safeship.release.approvals.judge`
goes through :meth:`ApprovalWait.record`, so replayed signatures and approver keys are
remembered in one place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from safeship.params import Params, TierPolicy
from safeship.release.approvals import Verdict, complete


@dataclass
class ApprovalWait:
    policy: TierPolicy
    clock: Callable[[], float] = time.monotonic
    approved: dict[str, str] = field(default_factory=dict)  # approver -> key fingerprint
    seen: set[str] = field(default_factory=set)  # signature digests used in this run
    rejection: str | None = None
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @property
    def complete(self) -> bool:
        return complete(self.approved, self.policy)

    @property
    def remaining_s(self) -> float:
        return self.started + self.policy.approval_timeout_s - self.clock()

    @property
    def timed_out(self) -> bool:
        return self.remaining_s <= 0

    @property
    def timeout_reason(self) -> str:
        return f"approval timed out after {self.policy.approval_timeout_s} s"

    @property
    def elapsed_s(self) -> float:
        return round(self.clock() - self.started, 3)

    @property
    def waiting(self) -> bool:
        """Still waiting: not complete, not rejected, not timed out."""
        return not (self.complete or self.rejection is not None or self.timed_out)

    def record(self, verdict: Verdict) -> None:
        """Take one judged input: remember its signature; a verified rejection ends the wait;
        an accepted approval counts once per person and key."""
        if verdict.signature_digest:
            self.seen.add(verdict.signature_digest)
        if verdict.outcome == "rejected":
            self.rejection = verdict.reason
        elif verdict.outcome == "accepted" and verdict.key:
            self.approved[verdict.approver] = verdict.key


def canary_runs(params: Params, previous: str | None, version: str) -> bool:
    """Shadow and canary run after approval only against a production version other than
    the candidate (a first release has nothing to compare with), when enabled."""
    return params.canary.enabled and previous is not None and previous != version
