"""A release through a Prefect worker, Prefect and the registry both on PostgreSQL.

The shipped :class:`safeship.team.TeamStack` starts a Prefect server on a database of its
own, creates the ``process`` work pool, runs ``prefect deploy --all`` on the project's
``prefect.yaml`` and starts two workers. Two releases of the same model are started from the
``release`` deployment: one takes the model's concurrency slot and suspends for approval
(giving the slot back), the other finds it suspended and ends Failed without touching the
registry. ``safeship approve`` (the REST API, as the
UI's form) answers the pause and the release promotes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from safeship.config import Settings
from safeship.registry.store import Registry
from safeship.team import TeamStack
from tests.flows.support import make_keys
from tests.helpers import make_pipeline_copy, repro

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CODE = ("flows", "tasks", "scripts", "prefect.yaml")


@pytest.fixture
def team_project(
    tmp_path: Path, make_database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TeamStack, Path]]:
    """A whole project (pipeline + flows + prefect.yaml), built; server, pool and workers."""
    from safeship.project import init_project

    root = tmp_path / "project"
    env = make_pipeline_copy(root)
    for name in CODE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    done = repro(root, env)
    assert done.returncode == 0, done.stdout + done.stderr
    (root / ".allowed_signers").write_text(make_keys(tmp_path / "keys"))  # signed approvals
    for args in (
        ["add", "-A"],
        ["-c", "user.email=t@x", "-c", "user.name=t", "commit", "-qm", "p"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    registry_url = make_database("ss_registry")
    prefect_url = make_database("ss_prefect").replace("postgresql://", "postgresql+asyncpg://", 1)
    monkeypatch.chdir(root)
    monkeypatch.delenv("SAFESHIP_HOME", raising=False)
    monkeypatch.setenv("SAFESHIP_DB_URL", registry_url)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.setenv("PREFECT_WORKER_QUERY_SECONDS", "1")
    monkeypatch.setenv("PYTHONPATH", str(root))
    settings = Settings.from_env(root)
    init_project(settings)
    stack = TeamStack(
        settings,
        prefect_db_url=prefect_url,
        workers=2,
        prefect_port=TeamStack.free_port(),
        project=root,
    )
    try:
        stack.check_databases()
        stack.start_server()
        stack.deploy()
        stack.start_workers()
        monkeypatch.setenv("PREFECT_API_URL", stack.api_url)
        yield stack, root
    finally:
        stack.stop()


def _api(stack: TeamStack, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, f"{stack.api_url}{path}", timeout=30, **kwargs)
    response.raise_for_status()
    return response.json()


def _start_release(stack: TeamStack, **request: Any) -> str:
    deployment = _api(stack, "GET", "/deployments/name/release/release")
    run = _api(
        stack,
        "POST",
        f"/deployments/{deployment['id']}/create_flow_run",
        json={"parameters": {"request": request}},
    )
    return str(run["id"])


def _state(stack: TeamStack, run_id: str) -> tuple[str, str]:
    state = _api(stack, "GET", f"/flow_runs/{run_id}")["state"] or {}
    return str(state.get("type")), str(state.get("message") or "")


def _wait_state(stack: TeamStack, run_id: str, wanted: set[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state, message = _state(stack, run_id)
        if state in wanted:
            return state
        if state in {"FAILED", "CRASHED", "CANCELLED", "COMPLETED"}:
            raise AssertionError(f"run {run_id} ended {state}: {message}; see {stack.logs}")
        time.sleep(1)
    raise AssertionError(f"run {run_id} is {_state(stack, run_id)}, not {wanted}; {stack.logs}")


def test_a_release_runs_on_a_worker_with_one_release_per_model(
    team_project: tuple[TeamStack, Path],
) -> None:
    stack, root = team_project
    key = root.parent / "keys" / "alice"
    request = {
        "model": "demo-chat",
        "candidate_path": "models/demo-chat",
        "version": "1.0.0",
        "author": "dave",
        "risk_tier": "medium",
    }
    first = _start_release(stack, **request)
    _wait_state(stack, first, {"PAUSED"}, timeout=600)
    with Registry.open(Settings.from_env(root)) as registry:
        events_before = registry.change_counter()

    second = _start_release(stack, **request)
    deadline = time.monotonic() + 180
    while _state(stack, second)[0] not in {"FAILED", "CRASHED", "COMPLETED"}:
        assert time.monotonic() < deadline, "the second release neither failed nor finished"
        time.sleep(1)
    state, message = _state(stack, second)
    assert state == "FAILED", message
    assert "another release of demo-chat is running" in message
    with Registry.open(Settings.from_env(root)) as registry:
        assert registry.change_counter() == events_before  # the refused run changed nothing

    approved = subprocess.run(
        [sys.executable, "-m", "safeship", "approve", first, "--as", "alice", "--key", str(key)],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        check=False,
    )
    assert approved.returncode == 0, approved.stderr
    _wait_state(stack, first, {"COMPLETED"}, timeout=300)
    with Registry.open(Settings.from_env(root)) as registry:
        assert registry.deployment("demo-chat").production == "1.0.0"
        kinds = [event.kind for event in registry.events()]
        assert registry.verify_ledger().count == len(kinds)
    for kind in ("version.registered", "safety.baseline", "approval.accepted"):
        assert kind in kinds
    assert kinds.count("deployment.promoted") == 1
    # the flow ran on a worker of the pool, not in this process
    run = _api(stack, "GET", f"/flow_runs/{first}")
    assert run["work_pool_name"] == "safeship"
