"""`make demo`: the whole story on the demo model, from a fresh clone.

In a throw-away workspace (``.safeship/demo/``): start the Prefect server (and the gateway
when it exists), then release demo-chat 1.0.0 as the baseline (trained on 85% of the corpus), 1.1.0
trained on more data (90%) through the full flow including shadow and every canary step
with generated traffic, and 1.2.0 trained with the unfiltered scrape, which is stopped.
A clearly labelled SCRIPTED APPROVER answers the approval pauses through the Prefect
REST API (`safeship approve`); the workspace's policy asks two distinct approvers for
demo-chat's (medium) tier, so four-eyes is shown. Prints a summary table, then stops the
services.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from safeship.demo.workspace import commit_all, copy_pipeline, dvc_repro

ROOT = Path(__file__).resolve().parents[1]
WORKSPACE = ROOT / ".safeship" / "demo"
APPROVERS = ("alice", "bob")
BASELINE_HELDOUT = 0.15  # 1.0.0 holds out 15% of the corpus; 1.1.0 the shipped 10%


# Shadow and canary sized for a demo: fewer requests per step, checks every 2 s.
DEMO_CANARY: dict[str, dict[str, Any]] = {
    "shadow": {"prompts": 120, "replay_rate": 60, "min_pairs": 60},
    "canary": {"min_requests": 40, "min_stable_requests": 20, "check_interval_s": 2,
               "live_min_rps": 5, "replay_rate": 60, "max_step_duration_s": 120},
}  # fmt: skip


@contextmanager
def live_traffic(gateway: bool, rate: float = 60) -> Iterator[None]:
    """Users sending requests to the gateway in a background thread (`safeship traffic`)."""
    from safeship.testing.traffic import TrafficConfig, run_traffic

    if not gateway:
        yield
        return
    stop = threading.Event()
    summary: dict[str, Any] = {}

    def send() -> None:
        config = TrafficConfig(
            url=os.environ["SAFESHIP_GATEWAY_URL"],
            rate=rate,
            duration_s=3600,
            users=500,
            user_prefix="demo-user",
        )
        summary.update(run_traffic(config, stop).as_dict())

    thread = threading.Thread(target=send, daemon=True, name="demo-traffic")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)
        print(f"[TRAFFIC] sent {summary.get('sent')}, ok {summary.get('ok')}, "
              f"versions {summary.get('versions')}, p95 {summary.get('latency_p95_ms')} ms")  # fmt: skip


def say(message: str) -> None:
    print(f"\n=== {message}", flush=True)


def make_workspace() -> Path:
    if WORKSPACE.exists():
        shutil.rmtree(WORKSPACE)
    copy_pipeline(WORKSPACE, ROOT)
    return WORKSPACE


def set_params(updates: dict[str, dict[str, Any]]) -> None:
    path = WORKSPACE / "params.yaml"
    data = yaml.safe_load(path.read_text())
    for section, values in updates.items():
        data.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def repro_and_commit(message: str) -> None:
    done = dvc_repro(WORKSPACE)
    if done.returncode != 0:
        raise SystemExit(f"dvc repro failed:\n{done.stdout}\n{done.stderr}")
    commit_all(WORKSPACE, message)


class ScriptedApprover(threading.Thread):
    """Answers every paused release run with approvals from alice, then bob."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()

    def run(self) -> None:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType

        answered: dict[str, int] = {}
        flt = FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
        )
        while not self.stop.is_set():
            with get_client(sync_client=True) as client:
                paused = client.read_flow_runs(flow_run_filter=flt)
            for run in paused:
                key = str(run.id)
                pause = str(run.state.state_details.pause_key) if run.state else ""
                count = answered.get(key + pause)
                if count is not None:
                    continue
                approver = APPROVERS[sum(1 for k in answered if k.startswith(key)) % len(APPROVERS)]
                print(f"[SCRIPTED APPROVER] safeship approve {key} --as {approver}", flush=True)
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "safeship",
                        "approve",
                        key,
                        "--as",
                        approver,
                        "--comment",
                        "scripted demo approval",
                    ],
                    check=False,
                )
                answered[key + pause] = 1
            time.sleep(0.5)


def release(version: str | None, notes: str) -> dict[str, Any]:
    from flows.release import release as release_flow
    from safeship.release.request import ReleaseRequest

    started = time.perf_counter()
    request = ReleaseRequest(version=version, notes=notes, author="dave", risk_tier="medium")
    state = release_flow(request, return_state=True)
    row: dict[str, Any] = {"seconds": round(time.perf_counter() - started, 1)}
    bundles = sorted(
        (WORKSPACE / "reports" / "demo-chat").glob("*/*/release.json"),
        key=lambda p: p.stat().st_mtime,
    )
    if bundles:
        import json

        bundle = json.loads(bundles[-1].read_text())
        row.update(
            version=bundle["version"],
            decision=bundle["decision"],
            gate=(bundle.get("gate") or {}).get("passed"),
            approvals=",".join(
                a["approver"] for a in bundle["approvals"] if a["outcome"] == "accepted"
            )
            or "-",
            reasons="; ".join(bundle.get("reasons") or [])[:90],
            canary=" ".join(f"{s['weight']}%:{s['decision']}" for s in bundle.get("canary") or [])
            or "-",
            bundle=str(bundles[-1].parent.relative_to(ROOT)),
        )
    row["state"] = state.type.value
    return row


def main() -> int:
    from safeship.config import Settings
    from safeship.project import init_project

    say(f"workspace {WORKSPACE.relative_to(ROOT)} (a throw-away copy of the project)")
    make_workspace()
    os.chdir(WORKSPACE)
    settings = Settings.from_env(WORKSPACE)
    os.environ["SAFESHIP_HOME"] = str(settings.state_dir)
    init_project(settings)

    from safeship.stack import Stack

    # free ports: the demo must not collide with a running `make up`
    stack = Stack(
        settings, project=WORKSPACE, prefect_port=Stack.free_port(), gateway_port=Stack.free_port()
    )
    rows: list[dict[str, Any]] = []
    approver = ScriptedApprover()
    try:
        say("starting the Prefect server")
        stack.start_server()
        os.environ.update(
            {"PREFECT_API_URL": stack.api_url, "PREFECT_HOME": stack.env["PREFECT_HOME"]}
        )
        gateway = stack.start_gateway(auth=False)  # the embedded demo: explicit, logged loudly
        os.environ["SAFESHIP_GATEWAY_URL"] = f"http://127.0.0.1:{stack.gateway_port}"
        approver.start()

        say("1.0.0: baseline, trained on 85% of the corpus (two approvers required)")
        shipped = yaml.safe_load((WORKSPACE / "params.yaml").read_text())
        tiers = shipped["release"]["tiers"]
        tiers["medium"]["approvals_required"] = 2  # four-eyes for this demo
        set_params({"prepare": {"heldout_fraction": BASELINE_HELDOUT},
                    "release": {"tiers": tiers}})  # fmt: skip
        repro_and_commit("demo-chat 1.0.0 data")
        rows.append(release("1.0.0", "baseline"))

        say("1.1.0: improved data (90% of the corpus); version suggested by the lineage diff")
        heldout = shipped["prepare"]["heldout_fraction"]
        set_params({"prepare": {"heldout_fraction": heldout}, **DEMO_CANARY})
        repro_and_commit("demo-chat 1.1.0 data: more training records")
        say("1.1.0 goes through shadow and every canary step while users send traffic")
        with live_traffic(gateway):
            rows.append(release(None, "retrained on more of the corpus"))

        say("1.2.0: trained with the unfiltered scrape (PII and abuse) - must be stopped")
        set_params(
            {"prepare": {"unfiltered_slice": True}, "validate": {"continue_on_failure": True}}
        )
        repro_and_commit("demo-chat 1.2.0 data: unfiltered scrape")
        rows.append(release("1.2.0", "added an unfiltered web scrape"))
    finally:
        approver.stop.set()
        _flush_prefect_logs()
        _print_summary(rows, stack, gateway if "gateway" in locals() else False)
        stack.stop()
    expected = ["promoted", "promoted", "rejected"]
    return 0 if [r.get("decision") for r in rows] == expected else 1


def _flush_prefect_logs() -> None:
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()


def _print_summary(rows: list[dict[str, Any]], stack: Any, gateway: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="safeship demo: demo-chat releases")
    columns = ("version", "decision", "gate", "approvals", "canary", "seconds", "reasons")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    Console(width=160).print(table)
    print(f"reports:   {WORKSPACE.relative_to(ROOT)}/reports/demo-chat/<version>/<run-id>/")
    print(f"registry:  SAFESHIP_HOME={stack.settings.state_dir} safeship status demo-chat")
    print("Prefect UI: `make up` keeps the server running (the demo stops it now).")


if __name__ == "__main__":
    sys.exit(main())
