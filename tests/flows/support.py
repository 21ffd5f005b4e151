"""Helpers for the flow tests: test keys, params edits, a release run in a thread, the
`safeship approve` subprocess and waiting on Prefect run states."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

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
