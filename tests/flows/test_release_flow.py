"""The release flow under one Prefect test server: every path an issue names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.registry.store import Registry
from tests.flows.support import (
    ReleaseRun,
    approve,
    edit_params,
    ledger_kinds,
    run_state,
    wait_for,
    wait_for_paused_run,
)

pytestmark = pytest.mark.slow


def _registry() -> Registry:
    return Registry.open(Settings.from_env())


def _bundle(root: Path, version: str) -> dict:  # type: ignore[type-arg]
    paths = sorted((root / "reports" / "demo-chat" / version).glob("*/release.json"))
    assert paths, "no release bundle"
    return json.loads(paths[-1].read_text())


def _paused_again(run_id: str, refusals: int) -> None:
    wait_for(lambda: ledger_kinds().count("approval.refused") >= refusals, what="refusal")
    wait_for(lambda: run_state(run_id) == "PAUSED", what="pause again")


def test_pass_path_promotes_with_bundle(release_project: Path) -> None:
    run = ReleaseRun(version="1.0.0", author="dave", risk_tier="medium")
    run_id = wait_for_paused_run(run)
    result = approve(run_id, "alice", "--comment", "looks good")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("accepted: approved by alice (key SHA256:"), result.stdout
    state = run.wait()
    assert state.is_completed(), state
    with _registry() as registry:
        assert registry.deployment("demo-chat").production == "1.0.0"
        assert registry.version("demo-chat", "1.0.0").status == "production"
        verified = registry.verify_ledger()
        assert verified.count > 5 and verified.signatures_checked
        assert verified.signed == 2  # alice's approval, the service-signed promotion
    bundle = _bundle(release_project, "1.0.0")
    assert bundle["decision"] == "promoted"
    assert bundle["approvals"][0]["approver"] == "alice"
    assert bundle["gate"]["passed"] is True
    for name in ("MODEL_CARD.md", "RELEASE_NOTES.md", "model_card.json"):
        assert any((release_project / "reports" / "demo-chat" / "1.0.0").glob(f"*/{name}"))
    kinds = ledger_kinds()
    for kind in (
        "version.registered",
        "version.validated",
        "safety.baseline",
        "version.gated",
        "approval.accepted",
        "version.approved",
        "deployment.promoted",
        "release.bundle",
    ):
        assert kind in kinds


def test_reject_path(release_project: Path) -> None:
    from safeship.errors import SafeshipError
    from safeship.prefect_api import resume_with_input

    run = ReleaseRun(version="1.0.0", author="dave")
    run_id = wait_for_paused_run(run)
    # input the form does not allow is refused by the server; the run stays paused
    with pytest.raises(SafeshipError):
        resume_with_input(run_id, {"approver": "bob", "decision": "maybe", "comment": ""})
    assert run_state(run_id) == "PAUSED"
    rejected = approve(run_id, "bob", "--reject", "--comment", "not now")
    assert rejected.returncode == 0 and rejected.stdout.startswith("rejected: rejected by bob")
    state = run.wait()
    assert state.is_failed()
    with _registry() as registry:
        assert registry.version("demo-chat", "1.0.0").status == "rejected"
        assert registry.deployment("demo-chat").production is None
    assert _bundle(release_project, "1.0.0")["decision"] == "rejected"


def _refused(result: object, reason: str) -> None:
    assert result.returncode != 0, result.stdout  # type: ignore[attr-defined]
    assert "refused the approval" in result.stderr and reason in result.stderr, result.stderr  # type: ignore[attr-defined]


def test_refused_inputs_keep_waiting_then_timeout(release_project: Path) -> None:
    from safeship.prefect_api import resume_with_input

    # 4 refusals through the CLI (each waits for its verdict), then the timeout
    edit_params(release_project, {"release": {"tiers/medium/approval_timeout_s": 60}})
    run = ReleaseRun(version="1.0.0", author="dave")
    run_id = wait_for_paused_run(run)
    with _registry() as registry:
        before = registry.count_rows()
    _refused(approve(run_id, "mallory"), "unknown approver key")  # no key listed
    _paused_again(run_id, 1)
    _refused(approve(run_id, "dave"), "author")  # the author, with his own listed key
    _paused_again(run_id, 2)
    _refused(approve(run_id, "alice", key="bob"), "wrong key")  # alice's name, bob's key
    _paused_again(run_id, 3)
    resume_with_input(run_id, {"approver": "alice", "decision": "approve", "comment": ""})
    _paused_again(run_id, 4)  # unsigned, as a bare UI form would send
    with _registry() as registry:
        after = registry.count_rows()
        assert registry.version("demo-chat", "1.0.0").status == "gated"
        refusals = [e for e in registry.events() if e.kind == "approval.refused"]
    assert after["ledger_events"] == before["ledger_events"] + 4  # the refusals, nothing else
    assert {k: v for k, v in after.items() if k != "ledger_events"} == {
        k: v for k, v in before.items() if k != "ledger_events"
    }
    assert "unsigned" in refusals[-1].payload["reason"]
    assert refusals[-1].actor == "unverified:alice" and refusals[1].actor == "dave"
    state = run.wait()
    assert state.is_failed()
    bundle = _bundle(release_project, "1.0.0")
    outcomes = [(a["approver"], a["outcome"]) for a in bundle["approvals"]]
    assert outcomes == [
        ("mallory", "refused"),
        ("dave", "refused"),
        ("alice", "refused"),
        ("alice", "refused"),
    ]
    assert "timed out" in " ".join(bundle["reasons"])
    with _registry() as registry:
        assert registry.version("demo-chat", "1.0.0").status == "rejected"


def test_two_approver_tier_bob_space_is_bob(release_project: Path) -> None:
    """The four-eyes bypass ("bob " then "bob") and a replayed signature are refused."""
    from safeship.prefect_api import resume_with_input

    edit_params(release_project, {"release": {"tiers/medium/approvals_required": 2}})
    run = ReleaseRun(version="1.0.0", author="dave")
    run_id = wait_for_paused_run(run)
    signed = approve(run_id, "bob ", "--print-signature")
    assert signed.returncode == 0, signed.stderr
    token = signed.stdout.strip()
    resume_with_input(
        run_id, {"approver": "bob ", "decision": "approve", "comment": "", "signature": token}
    )
    wait_for(lambda: ledger_kinds().count("approval.accepted") == 1, what="first approval")
    wait_for(lambda: run_state(run_id) == "PAUSED", what="second pause")
    resume_with_input(
        run_id, {"approver": "bob", "decision": "approve", "comment": "", "signature": token}
    )
    _paused_again(run_id, 1)  # the same signature again: replayed
    _refused(approve(run_id, "bob", "--comment", "again"), "already approved")
    _paused_again(run_id, 2)
    assert approve(run_id, "alice").returncode == 0
    assert run.wait().is_completed()
    with _registry() as registry:
        assert registry.deployment("demo-chat").production == "1.0.0"
        events = registry.events()
    refused = [e.payload["reason"] for e in events if e.kind == "approval.refused"]
    assert "replayed" in refused[0] and "already approved" in refused[1]
    approved = next(e for e in events if e.kind == "version.approved")
    assert approved.payload["approvers"] == ["alice", "bob"]
    assert len(set(approved.payload["keys"].values())) == 2


def test_artifact_changed_between_gate_and_approval(release_project: Path) -> None:
    edit_params(release_project, {"release": {"tiers/medium/approval_timeout_s": 20}})
    run = ReleaseRun(version="1.0.0", author="dave")
    run_id = wait_for_paused_run(run)
    working = Path(Settings.from_env().state_dir) / "artifacts" / "demo-chat" / "1.0.0"
    weights = next(p for p in working.iterdir() if p.name.startswith("weights"))
    weights.chmod(0o644)
    weights.write_bytes(weights.read_bytes() + b" ")
    _refused(approve(run_id, "alice"), "artifact changed")
    _paused_again(run_id, 1)
    assert run.wait().is_failed()
    bundle = _bundle(release_project, "1.0.0")
    assert "artifact changed" in bundle["approvals"][0]["reason"]


def test_validation_fail_path(release_project: Path) -> None:
    from safeship.config import tool_env
    from safeship.lineage.pipeline import dvc_repro

    env = tool_env({"PYTHONPATH": str(release_project / "src")})
    edit_params(
        release_project,
        {"prepare": {"unfiltered_slice": True}, "validate": {"continue_on_failure": True}},
    )
    done = dvc_repro(release_project, env)
    assert done.returncode == 0, done.stderr
    try:
        state = ReleaseRun(version="1.2.0", author="dave").wait()
        assert state.is_failed()
        bundle = _bundle(release_project, "1.2.0")
        assert bundle["decision"] == "rejected"
        assert "data validation failed" in bundle["reasons"][0]
        with _registry() as registry:
            assert registry.version("demo-chat", "1.2.0").status == "rejected"
    finally:
        edit_params(
            release_project,
            {"prepare": {"unfiltered_slice": False}, "validate": {"continue_on_failure": False}},
        )
        assert dvc_repro(release_project, env).returncode == 0


def test_gate_fail_path(release_project: Path) -> None:
    edit_params(
        release_project, {"safety": {"thresholds/medium/toxicity.toxicity_probability": 0.0}}
    )
    state = ReleaseRun(version="1.0.0", author="dave").wait()
    assert state.is_failed()
    bundle = _bundle(release_project, "1.0.0")
    assert bundle["reasons"][0] == "safety gate failed"
    assert any("toxicity.toxicity_probability" in r for r in bundle["reasons"])
    with _registry() as registry:
        assert registry.version("demo-chat", "1.0.0").status == "rejected"


def test_rerun_after_crash_does_not_duplicate(release_project: Path) -> None:
    from safeship.release import steps
    from safeship.release.request import ReleaseRequest

    with _registry() as registry:  # the crashed run got as far as registration
        steps.register_candidate(
            registry,
            ReleaseRequest(
                model="demo-chat",
                candidate_path="models/demo-chat",
                version="1.0.0",
                author="dave",
            ),
        )
        before = registry.count_rows()
    run = ReleaseRun(version="1.0.0", author="dave")
    run_id = wait_for_paused_run(run)
    assert approve(run_id, "alice").returncode == 0
    assert run.wait().is_completed()
    with _registry() as registry:
        assert len(registry.versions("demo-chat")) == 1
        kinds = [e.kind for e in registry.events()]
        assert kinds.count("version.registered") == 1 and before["model_versions"] == 1
