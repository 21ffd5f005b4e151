"""Tasks of the monitor and rescan flows. Each opens what it needs, calls the core once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safeship.config import Settings
from safeship.monitoring import policy as monitoring
from safeship.monitoring import rescan
from safeship.monitoring.policy import Action, Finding
from safeship.monitoring.traffic import TrafficResult, check_traffic
from safeship.params import Params
from tasks.common import open_registry, task

# Flows whose runs move canary weights: a canary is not stale while one is in progress.
CANARY_MOVERS = ("release", "canary")


@task(name="list-models")
def models_task() -> list[str]:
    with open_registry() as registry:
        return [m.name for m in registry.models()]


@task(name="check-integrity")
def integrity_task(model: str) -> list[Finding]:
    """Re-hash production, canary and shadow against the catalog."""
    with open_registry() as registry:
        return monitoring.check_integrity(registry, model)


@task(name="check-traffic")
def traffic_task(model: str, params: Params, out_root: Path) -> TrafficResult:
    """Drift report and safety rates of production traffic from the request log."""
    from safeship.gateway.requestlog import RequestLog

    log = RequestLog.open(Settings.from_env(), params.serving)
    try:
        return check_traffic(log, model, params, out_root)
    finally:
        log.close()


@task(name="runs-in-progress")
def runs_in_progress_task() -> dict[str, bool]:
    """Models with a release or canary run running or paused (``"*"``: unknown model)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    active = [StateType.RUNNING, StateType.PAUSED, StateType.PENDING]
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=list(CANARY_MOVERS))),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=active))
            ),
        )
    busy: dict[str, bool] = {}
    for run in runs:
        parameters: dict[str, Any] = dict(run.parameters or {})
        request = parameters.get("request")
        model = request.get("model") if isinstance(request, dict) else parameters.get("model")
        busy[str(model) if model else "*"] = True
    return busy


@task(name="expired-approval-waits")
def expired_waits_task(params: Params) -> list[str]:
    """Reject versions whose release run's approval wait timed out while the run was
    suspended: Prefect fails such a run without running the flow, so nothing else records
    it. Only a version still ``gated``, past its tier's timeout, whose run has ended."""
    from safeship.errors import NotFoundError
    from safeship.prefect_api import flow_run
    from safeship.release.approval import ApprovalWait, open_waits
    from safeship.release.steps import reject

    rejected = []
    with open_registry() as registry:
        for wait in open_waits(registry.events()):
            if registry.version(wait.model, wait.version).status != "gated":
                continue
            tier = registry.model(wait.model).risk_tier
            state = ApprovalWait(params.release.tiers[tier], since=wait.since)  # type: ignore[index]
            if not state.timed_out:
                continue
            try:
                ended = (flow_run(wait.run_id).get("state") or {}).get("type")
            except NotFoundError:  # a run of another Prefect server: not ours to judge
                continue
            if ended in {"FAILED", "CRASHED", "CANCELLED"}:
                reason = f"{state.timeout_reason} (release run {wait.run_id} ended {ended})"
                reject(registry, wait.model, wait.version, reason)
                rejected.append(f"{wait.model} {wait.version}: {reason}")
    return rejected


@task(name="repair-stale-canary")
def canary_task(model: str, max_age_s: float, run_in_progress: bool) -> Finding | None:
    with open_registry() as registry:
        return monitoring.repair_stale_canary(
            registry, model, max_age_s=max_age_s, run_in_progress=run_in_progress
        )


@task(name="apply-policy")
def act_task(model: str, actions: list[Action]) -> list[dict[str, Any]]:
    with open_registry() as registry:
        return monitoring.apply_actions(registry, model, actions)


@task(name="record-alerts")
def alerts_task(findings: list[Finding]) -> list[int]:
    """One ``monitor.alert`` ledger event per alert; returns their sequence numbers."""
    with open_registry() as registry:
        return [monitoring.record_alert(registry, f) for f in findings if f.severity == "alert"]


@task(name="production-version")
def production_task(model: str) -> str | None:
    with open_registry() as registry:
        return registry.deployment(model).production


@task(name="rescan-targets")
def rescan_targets_task(model: str, params: Params, versions: list[str] | None) -> list[str]:
    with open_registry() as registry:
        production = registry.deployment(model).production
        return rescan.rescan_targets(
            registry.versions(model), production, params.monitor.rescan_recent, versions
        )


@task(name="load-probes")
def probes_task(probe_dir: str | None) -> Any:
    return rescan.load_suite(probe_dir, Settings.from_env().project_root)


@task(name="rescan-version")
def scan_task(
    model: str, version: str, params: Params, reason: str, probes: Any, out_dir: Path
) -> rescan.VersionScan:
    """The battery again on ``version`` (an amendment with ``reason``) and the gate."""
    with open_registry() as registry:
        return rescan.scan_version(
            registry, model, version, params, reason=reason, probes=probes, out_dir=out_dir
        )


@task(name="rollback-to-passing")
def rollback_to_passing_task(
    model: str, params: Params, reason: str, probes: Any, out_root: Path
) -> dict[str, Any]:
    with open_registry() as registry:
        return rescan.rollback_to_passing(
            registry, model, params, reason=reason, probes=probes, out_root=out_root
        )


@task(name="stamp")
def stamp_task() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
