"""The approval wait as a state machine (the release flow only pauses and drives it)."""

from __future__ import annotations

from safeship.params import Params, TierPolicy
from safeship.release.approval import ApprovalWait, canary_runs
from safeship.release.approvals import Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def verdict(
    outcome: str, approver: str, key: str | None = None, digest: str | None = None
) -> Verdict:
    return Verdict.model_validate(
        {
            "outcome": outcome,
            "reason": f"{approver} {outcome}",
            "approver": approver,
            "decision": "reject" if outcome == "rejected" else "approve",
            "comment": "",
            "artifact_hash": "a" * 32,
            "profile_hash": "p" * 64,
            "key": key,
            "signature_digest": digest,
        }
    )


def test_four_eyes_needs_two_people_with_two_keys() -> None:
    wait = ApprovalWait(TierPolicy(approvals_required=2, approval_timeout_s=60), clock=Clock())
    wait.record(verdict("accepted", "alice", key="K1", digest="d1"))
    assert wait.waiting and not wait.complete
    wait.record(verdict("accepted", "alice", key="K1", digest="d2"))  # the same person again
    assert wait.waiting
    wait.record(verdict("accepted", "bob", key="K1", digest="d3"))  # another name, same key
    assert wait.waiting
    wait.record(verdict("accepted", "bob", key="K2", digest="d4"))
    assert wait.complete and not wait.waiting
    assert wait.seen == {"d1", "d2", "d3", "d4"}


def test_refused_input_keeps_waiting_and_a_rejection_ends_it() -> None:
    wait = ApprovalWait(TierPolicy(approval_timeout_s=60), clock=Clock())
    wait.record(verdict("refused", "mallory", digest="d1"))
    assert wait.waiting and wait.rejection is None and "d1" in wait.seen
    wait.record(verdict("rejected", "bob", key="K2"))
    assert not wait.waiting and wait.rejection == "bob rejected" and not wait.complete


def test_the_wait_times_out_on_the_tiers_clock() -> None:
    clock = Clock()
    wait = ApprovalWait(TierPolicy(approval_timeout_s=30), clock=clock)
    clock.now += 29.5
    assert wait.waiting and wait.remaining_s == 0.5
    clock.now += 0.5
    assert wait.timed_out and not wait.waiting
    assert wait.timeout_reason == "approval timed out after 30 s"
    assert wait.elapsed_s == 30.0


def test_canary_runs_only_against_another_production_version() -> None:
    params = Params()
    assert canary_runs(params, "1.0.0", "1.1.0") == params.canary.enabled
    assert not canary_runs(params, None, "1.0.0")
    assert not canary_runs(params, "1.1.0", "1.1.0")
    disabled = params.model_copy(
        update={"canary": params.canary.model_copy(update={"enabled": False})}
    )
    assert not canary_runs(disabled, "1.0.0", "1.1.0")


def test_a_resumed_wait_is_the_wait_it_left_off() -> None:
    """A suspended run starts again from the top: its wait comes back from the recorded
    verdicts, with the next input's pause key and the clock of the first request."""
    clock = Clock()
    policy = TierPolicy(approvals_required=2, approval_timeout_s=60)
    verdicts = [
        verdict("refused", "mallory", digest="d1"),
        verdict("accepted", "alice", key="K1", digest="d2"),
    ]
    fresh = ApprovalWait(policy, clock=clock)
    assert fresh.pause_key == "approval-0"
    clock.now += 50
    wait = ApprovalWait.resume(policy, since=100.0, verdicts=verdicts, clock=clock)
    assert wait.pause_key == "approval-2" and wait.approved == {"alice": "K1"}
    assert wait.seen == {"d1", "d2"} and wait.waiting and wait.remaining_s == 10
    clock.now += 10
    assert wait.timed_out  # a restart does not give the approvers more time


def test_recorded_approvals_are_read_back_per_run() -> None:
    from safeship.ledger import Event
    from safeship.release.approval import recorded_approvals

    def event(seq: int, kind: str, run_id: str, **payload: object) -> Event:
        return Event(
            seq=seq,
            time=f"2026-01-01T00:00:0{seq}.000000+00:00",
            actor="x",
            kind=kind,
            model="m",
            version="1",
            payload={"run_id": run_id, **payload},
            prev_hash="",
            hash="",
        )

    accepted = verdict("accepted", "alice", key="K1", digest="d2").model_dump()
    events = [
        event(1, "approval.requested", "other"),
        event(2, "approval.requested", "run"),
        event(3, "approval.refused", "other", **accepted),
        event(4, "approval.accepted", "run", **accepted),
        event(5, "approval.requested", "run"),  # a second request does not reset the clock
    ]
    since, verdicts = recorded_approvals(events, "run")
    assert since == 1767225602.0
    assert [v.approver for v in verdicts] == ["alice"] and verdicts[0].key == "K1"
    assert recorded_approvals(events, "none") == (None, [])


def test_open_waits_are_runs_that_asked_and_wrote_no_bundle() -> None:
    from safeship.ledger import Event
    from safeship.release.approval import open_waits

    def event(seq: int, kind: str, run_id: str) -> Event:
        payload = {"run_id": run_id, "model": "m", "version": f"v-{run_id}"}
        return Event(seq, f"2026-01-01T00:00:0{seq}+00:00", "x", kind, "m", "1", payload, "", "")

    events = [
        event(1, "approval.requested", "done"),
        event(2, "approval.requested", "open"),
        event(3, "release.bundle", "done"),
        event(4, "approval.requested", "open"),
    ]
    (wait,) = open_waits(events)
    assert (wait.run_id, wait.version, wait.since) == ("open", "v-open", 1767225602.0)
