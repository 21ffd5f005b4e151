"""A release run of a served deployment waits for approval *suspended*. The `make up` stack
(its own Prefect server and serving process) is killed with SIGKILL while the run waits and
started again; the approval still goes through — once, with one ledger event per operation
— and a refused approval keeps the run waiting."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.registry.store import Registry
from safeship.stack import Stack
from tests.flows.support import approve, wait_for

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _kill(stack: Stack) -> None:
    """SIGKILL every process of the stack (each in its own process group)."""
    for _, process in stack.processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
    stack.processes.clear()


def _start(stack: Stack) -> None:
    stack.start_server()
    stack.start_serving("release")


@pytest.fixture
def stack(release_project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The `make up` stack on a free port, serving only the release deployment."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the flows live in the repository
    monkeypatch.setenv("PREFECT_RUNNER_POLL_FREQUENCY", "1")
    started = Stack(Settings.from_env(), prefect_port=Stack.free_port(), project=release_project)
    monkeypatch.setenv("PREFECT_API_URL", started.api_url)  # for `safeship approve`
    try:
        _start(started)
        with temporary_settings(updates={PREFECT_API_URL: started.api_url}):
            yield started
    finally:
        _kill(started)
        for log in sorted(started.logs.glob("*.log")):  # shown when the test fails
            print(f"--- {log.name}\n" + log.read_text(errors="replace")[-4000:])


def _start_release(**request: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + 120
    with get_client(sync_client=True) as client:
        while True:
            try:
                deployment = client.read_deployment_by_name("release/release")
                break
            except ObjectNotFound:
                assert time.monotonic() < deadline, "the release deployment was not served"
                time.sleep(0.5)
        run = client.create_flow_run_from_deployment(deployment.id, parameters={"request": request})
    return str(run.id)


def _state(run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    return f"{state.type.value}/{state.name}" if state else "NONE"


def _suspended_release() -> str:
    """Start a release of demo-chat 1.0.0 and wait until it suspends for approval."""
    run_id = _start_release(
        model="demo-chat",
        candidate_path="models/demo-chat",
        version="1.0.0",
        author="dave",
        risk_tier="medium",
    )
    wait_for(lambda: _state(run_id) == "PAUSED/Suspended", 300, "the run to suspend")
    return run_id


def test_a_suspended_approval_survives_killing_server_and_serving_process(
    release_project: Path, stack: Stack
) -> None:
    run_id = _suspended_release()
    _kill(stack)  # the Prefect server and the serving process, as a power cut would
    _start(stack)
    assert _state(run_id) == "PAUSED/Suspended"  # the wait lives in the server's database

    refused = approve(run_id, "alice", key="mallory")  # alice's name, mallory's key
    assert refused.returncode != 0 and "refused" in refused.stderr, refused.stdout
    wait_for(lambda: _state(run_id) == "PAUSED/Suspended", 120, "the run to wait again")

    accepted = approve(run_id, "alice", "--comment", "after a restart")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.startswith("accepted: approved by alice"), accepted.stdout
    wait_for(lambda: _state(run_id) == "COMPLETED/Completed", 180, "the run to complete")

    with Registry.open(Settings.from_env()) as registry:
        assert registry.deployment("demo-chat").production == "1.0.0"
        assert registry.version("demo-chat", "1.0.0").status == "production"
        events = registry.events()
        assert registry.verify_ledger().count == len(events)
    kinds = [event.kind for event in events]
    for kind in (
        "version.registered",
        "version.validated",
        "safety.baseline",
        "version.gated",
        "approval.requested",
        "approval.refused",
        "approval.accepted",
        "version.approved",
        "deployment.promoted",
        "release.bundle",
    ):
        assert kinds.count(kind) == 1, (kind, kinds)


def test_a_suspended_wait_that_times_out_rejects_the_version(
    release_project: Path, stack: Stack
) -> None:
    """Prefect fails a suspended run at its timeout without running the flow; the monitor's
    sweep then rejects the version with the timeout as the reason."""
    from safeship.params import load_params
    from tasks.monitor import expired_waits_task
    from tests.flows.support import edit_params

    edit_params(release_project, {"release": {"tiers/medium/approval_timeout_s": 5}})
    run_id = _suspended_release()
    params = load_params(release_project)
    assert expired_waits_task.fn(params) == []  # the run is still waiting
    wait_for(lambda: _state(run_id).startswith("FAILED"), 120, "Prefect to fail the wait")
    (line,) = expired_waits_task.fn(params)
    assert "approval timed out after 5 s" in line and run_id in line
    assert expired_waits_task.fn(params) == []  # once
    with Registry.open(Settings.from_env()) as registry:
        assert registry.version("demo-chat", "1.0.0").status == "rejected"
