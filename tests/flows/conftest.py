"""One Prefect test server per session, and a built demo project shared by flow tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import make_pipeline_copy, repro


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    os.environ.setdefault("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo pipeline reproduced once (clean corpus) in a git project."""
    root = tmp_path_factory.mktemp("demo-project")
    env = make_pipeline_copy(root)
    done = repro(root, env)
    assert done.returncode == 0, done.stdout + done.stderr
    for args in (
        ["add", "-A"],
        ["-c", "user.email=t@x", "-c", "user.name=t", "commit", "-qm", "demo"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return root


@pytest.fixture
def release_project(
    built_demo: Path, prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The built demo as working directory, a fresh registry, params restored afterwards."""
    from safeship.config import Settings
    from safeship.project import init_project

    params = built_demo / "params.yaml"
    saved = params.read_text()
    signers = built_demo / ".allowed_signers"
    signers.write_text(make_keys(tmp_path / "keys"))
    monkeypatch.setenv("SAFESHIP_TEST_KEYS", str(tmp_path / "keys"))
    monkeypatch.chdir(built_demo)
    monkeypatch.setenv("SAFESHIP_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("SAFESHIP_DB_URL", raising=False)
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    init_project(Settings.from_env())
    yield built_demo
    params.write_text(saved)
    signers.unlink(missing_ok=True)
    (built_demo / ".revoked_signers").unlink(missing_ok=True)
    shutil.rmtree(built_demo / "reports" / "demo-chat", ignore_errors=True)


LISTED = ("alice", "bob", "carol", "dave")  # dave is the author in these tests


def make_keys(directory: Path) -> str:
    """Test keys for the listed people and for mallory (not listed); the allowed_signers text."""
    from safeship.access.signatures import SigningKey

    lines = []
    for name in (*LISTED, "mallory"):
        key = SigningKey.generate()
        key.save(directory / name, comment=f"{name}@test")
        if name in LISTED:
            lines.append(f"{name} {key.public.openssh()}")
    return "\n".join(lines) + "\n"


def edit_params(root: Path, updates: dict[str, dict[str, Any]]) -> None:
    path = root / "params.yaml"
    data = yaml.safe_load(path.read_text())
    for section, values in updates.items():
        node = data.setdefault(section, {})
        for dotted, value in values.items():  # keys: "a/b/c"
            *parents, leaf = dotted.split("/")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
            node = data[section]
    path.write_text(yaml.safe_dump(data, sort_keys=False))


class ReleaseRun:
    """A release flow run in a background thread (it blocks while paused)."""

    def __init__(self, **request: Any) -> None:
        from flows.release import release
        from safeship.release.request import ReleaseRequest

        self.state: Any = None
        self.error: BaseException | None = None
        req = ReleaseRequest(
            **{"model": "demo-chat", "candidate_path": "models/demo-chat", **request}
        )

        def target() -> None:
            try:
                self.state = release(req, return_state=True)
            except BaseException as error:  # noqa: BLE001 - reported to the test
                self.error = error

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def wait(self, timeout: float = 240) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "release run did not finish"
        if self.error is not None:
            raise self.error
        return self.state


def wait_for_paused_run(run: ReleaseRun, timeout: float = 180) -> str:
    """The id of the paused `release` flow run (polling the Prefect API)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    deadline = time.monotonic() + timeout
    flt = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    )
    while time.monotonic() < deadline:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(flow_run_filter=flt)
        if runs:
            return str(runs[0].id)
        if not run.thread.is_alive():
            raise AssertionError(f"the run ended without pausing: {run.state or run.error}")
        time.sleep(0.5)
    raise AssertionError("no paused release run appeared")


def approve(
    run_id: str, name: str, *extra: str, key: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`safeship approve` in a separate process (signs with ``key``'s test key, default the
    approver's own), through the Prefect REST API, as the UI does; it waits for the verdict."""
    key_path = Path(os.environ["SAFESHIP_TEST_KEYS"]) / (key or name.strip().lower())
    return subprocess.run(
        [
            sys.executable,
            *("-m", "safeship", "approve", run_id, "--as", name, "--key", str(key_path)),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=150,
        env=dict(os.environ),
        check=False,
    )


def wait_for(predicate: Any, timeout: float = 120, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def run_state(run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    return str(run.state.type.value) if run.state else "NONE"


def ledger_kinds() -> list[str]:
    from safeship.config import Settings
    from safeship.registry.store import Registry

    with Registry.open(Settings.from_env()) as registry:
        return [e.kind for e in registry.events()]
