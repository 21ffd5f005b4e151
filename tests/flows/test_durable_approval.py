"""A release run of a served deployment waits for approval *suspended*: the serving process
is killed (SIGKILL) while it waits, started again, and the approval still goes through —
once, with one ledger event per operation; a refused approval keeps it waiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.registry.store import Registry
from tests.flows.conftest import approve, run_state, wait_for

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


class Serving:
    """``python -m scripts.serve release`` (the `make up` path, one deployment) in its own
    process group, so a SIGKILL takes down the runner and anything it started."""

    def __init__(self, project: Path, log: Path) -> None:
        self.project, self.log = project, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        }
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "scripts.serve", "release"],
                cwd=self.project,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        self.process = None


@pytest.fixture
def serving(release_project: Path, tmp_path: Path) -> Iterator[Serving]:
    served = Serving(release_project, tmp_path / "serve.log")
    served.start()
    try:
        yield served
    finally:
        served.kill()
        print(served.log.read_text(errors="replace")[-6000:])  # shown when the test fails


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


def _state_name(run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    return f"{state.type.value}/{state.name}" if state else "NONE"


def _kinds() -> list[str]:
    with Registry.open(Settings.from_env()) as registry:
        return [event.kind for event in registry.events()]


def test_a_suspended_approval_survives_killing_the_serving_process(
    release_project: Path, serving: Serving
) -> None:
    run_id = _start_release(
        model="demo-chat",
        candidate_path="models/demo-chat",
        version="1.0.0",
        author="dave",
        risk_tier="medium",
    )
    wait_for(lambda: _state_name(run_id) == "PAUSED/Suspended", 300, "the run to suspend")
    serving.kill()
    assert _state_name(run_id) == "PAUSED/Suspended"  # the wait lives in the server
    serving.start()

    refused = approve(run_id, "alice", key="mallory")  # alice's name, mallory's key
    assert refused.returncode != 0 and "refused" in refused.stderr, refused.stdout
    wait_for(lambda: _state_name(run_id) == "PAUSED/Suspended", 120, "the run to wait again")

    accepted = approve(run_id, "alice", "--comment", "after a restart")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.startswith("accepted: approved by alice"), accepted.stdout
    wait_for(lambda: run_state(run_id) == "COMPLETED", 180, "the run to complete")

    with Registry.open(Settings.from_env()) as registry:
        assert registry.deployment("demo-chat").production == "1.0.0"
        assert registry.version("demo-chat", "1.0.0").status == "production"
        assert registry.verify_ledger().count == len(registry.events())
    kinds = _kinds()
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
