"""The approval wait of a release as a state machine: the flow only pauses and drives it.

The wait ends in one of three ways: enough distinct, verified approvers (``complete``), a
verified rejection (``rejection`` holds its reason), or the tier's timeout
(``timed_out``). Each verdict the flow gets from :func:`safeship.release.approvals.judge`
goes through :meth:`ApprovalWait.record`, so replayed signatures and approver keys are
remembered in one place.

The wait is durable: every verdict is a ledger event naming the run, so a run that restarts
(a suspended run resumes by running its flow again from the top) rebuilds its wait with
:meth:`ApprovalWait.resume` from the ledger instead of judging an input twice. The clock is
wall time from the first request for approval, so a restart does not extend the timeout.
Each input gets its own pause key (:attr:`ApprovalWait.pause_key`): the key of an input
already judged is never asked again, and the key of an input received but not yet judged
returns that same input.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import InitVar, dataclass, field
from datetime import datetime

from pydantic import BaseModel

from safeship.ledger import Event
from safeship.params import Params, TierPolicy
from safeship.release.approvals import Verdict, complete


@dataclass
class ApprovalWait:
    policy: TierPolicy
    clock: Callable[[], float] = time.time
    approved: dict[str, str] = field(default_factory=dict)  # approver -> key fingerprint
    seen: set[str] = field(default_factory=set)  # signature digests used in this run
    rejection: str | None = None
    inputs: int = 0  # inputs judged so far
    since: InitVar[float | None] = None  # when approval was first asked (clock time)
    started: float = field(init=False)

    def __post_init__(self, since: float | None) -> None:
        self.started = self.clock() if since is None else since

    @classmethod
    def resume(
        cls,
        policy: TierPolicy,
        since: float,
        verdicts: Iterable[Verdict],
        clock: Callable[[], float] = time.time,
    ) -> ApprovalWait:
        """The wait as it stood after these verdicts (read back from the ledger)."""
        wait = cls(policy, clock=clock, since=since)
        for verdict in verdicts:
            wait.record(verdict)
        return wait

    @property
    def pause_key(self) -> str:
        """The pause key of the next input: one per input, stable across restarts."""
        return f"approval-{self.inputs}"

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
        self.inputs += 1
        if verdict.signature_digest:
            self.seen.add(verdict.signature_digest)
        if verdict.outcome == "rejected":
            self.rejection = verdict.reason
        elif verdict.outcome == "accepted" and verdict.key:
            self.approved[verdict.approver] = verdict.key


VERDICT_KINDS = frozenset({"approval.accepted", "approval.refused", "approval.rejected"})


def recorded_approvals(events: Iterable[Event], run_id: str) -> tuple[float | None, list[Verdict]]:
    """What the ledger holds of this run's approval wait: when it first asked for approval
    (epoch seconds; None when it has not asked yet) and its verdicts, in order."""
    since: float | None = None
    verdicts: list[Verdict] = []
    for event in events:
        if event.payload.get("run_id") != run_id:
            continue
        if event.kind == "approval.requested" and since is None:
            since = datetime.fromisoformat(event.time).timestamp()
        elif event.kind in VERDICT_KINDS:
            fields = {k: v for k, v in event.payload.items() if k in Verdict.model_fields}
            verdicts.append(Verdict.model_validate(fields))
    return since, verdicts


class OpenWait(BaseModel):
    """A run that asked for approval and has not written its release bundle."""

    run_id: str
    model: str
    version: str
    since: float  # epoch seconds of its request


def open_waits(events: Iterable[Event]) -> list[OpenWait]:
    """Release runs that asked for approval and never finished (no ``release.bundle``)."""
    waits: dict[str, OpenWait] = {}
    for event in events:
        run_id = event.payload.get("run_id")
        if event.kind == "release.bundle":
            waits.pop(str(run_id), None)
        elif event.kind == "approval.requested" and run_id and str(run_id) not in waits:
            waits[str(run_id)] = OpenWait(
                run_id=str(run_id),
                model=event.payload["model"],
                version=event.payload["version"],
                since=datetime.fromisoformat(event.time).timestamp(),
            )
    return list(waits.values())


def canary_runs(params: Params, previous: str | None, version: str) -> bool:
    """Shadow and canary run after approval only against a production version other than
    the candidate (a first release has nothing to compare with), when enabled."""
    return params.canary.enabled and previous is not None and previous != version
