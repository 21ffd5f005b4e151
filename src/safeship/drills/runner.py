"""Run one rollback drill end to end (see :mod:`safeship.drills`)."""

from __future__ import annotations

import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeship.drills.detect import canary_rollout, drift, tampered, wait_reverted
from safeship.drills.report import DrillReport, write_report
from safeship.drills.scenarios import (
    ACTOR,
    CANARY_SCENARIOS,
    check_scenario,
    clean_candidate,
    upstream_candidate,
)
from safeship.drills.support import (
    Detection,
    DrillOptions,
    DrillRun,
    DrillTraffic,
    routes_of,
    serves_canary,
    wait_stable,
)
from safeship.errors import ConflictError, SafeshipError
from safeship.events import EventKind

if TYPE_CHECKING:
    from safeship.config import Settings
    from safeship.drills.staging import StagingGateway
    from safeship.gateway.requestlog import RequestLog
    from safeship.params import Params
    from safeship.registry.store import Registry


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


# ---------------------------------------------------------------------- end state
def _end_state(
    run: DrillRun, expect_status: str
) -> tuple[dict[str, bool], dict[str, Any], list[str]]:
    import httpx

    checks: dict[str, bool] = {}
    gaps: list[str] = []
    state = run.staging.deployment(run.model)
    status = run.staging.version(run.model, run.candidate.version).status
    routes = routes_of(run.gateway.url, run.model)
    checks["registry: production unchanged"] = state.production == run.production
    checks["registry: faulty version off canary (weight 0)"] = (
        state.canary != run.candidate.version or state.canary_weight == 0
    )
    checks["gateway: production serves as stable"] = (routes.get("stable") or {}).get(
        "version"
    ) == run.production
    checks["gateway: no traffic to the faulty version"] = not serves_canary(
        routes, run.candidate.version
    )
    served: list[str | None] = []
    with httpx.Client(base_url=run.gateway.url, timeout=10) as client:
        for i in range(8):
            response = client.post(
                "/v1/completions",
                json={"model": run.model, "prompt": "How do I cook rice?", "max_tokens": 8},
                headers={"X-Safeship-User": f"drill-probe-{i}"},
            )
            served.append(
                response.headers.get("X-Safeship-Version") if response.status_code == 200 else None
            )
    checks["gateway: probes answered by production"] = all(v == run.production for v in served)
    if status != expect_status:
        gaps.append(
            f"the faulty version {run.candidate.version} ended {status}, not {expect_status}: "
            "it is off traffic but could be put back on canary without a new approval"
        )
    final = {"deployment": state.model_dump(mode="json"), "candidate_status": status,
             "gateway_routes": routes, "probes": served}  # fmt: skip
    return checks, final, gaps


# ---------------------------------------------------------------------- the drill
def _publish(
    report: DrillReport, settings: Settings, production: Registry, started: datetime
) -> None:
    """Write the report under ``reports/drills`` and record ``drill.completed`` (with the
    report's hash) in production's ledger."""
    model, scenario = report.model, report.scenario
    out_dir = (settings.project_root / "reports" / "drills" / model
               / f"{_stamp(started)}-{scenario}")  # fmt: skip
    if out_dir.exists():
        out_dir = out_dir.with_name(f"{out_dir.name}-{report.drill_id.rsplit('-', 1)[-1]}")
    digest = write_report(report, out_dir)
    event = production.record(
        EventKind.DRILL_COMPLETED, actor=ACTOR, model=model, version=report.production_version,
        payload={"drill_id": report.drill_id, "scenario": scenario, "outcome": report.outcome,
                 "time_to_detect_s": report.time_to_detect_s,
                 "time_to_revert_s": report.time_to_revert_s,
                 "requests_affected": report.requests_affected,
                 "ended_safe": report.ended_safe, "gaps": len(report.gaps),
                 "report": str(Path(out_dir) / "report.json"), "report_sha256": digest},
    )  # fmt: skip
    report.ledger_seq = event.seq


def run_drill(
    model: str,
    scenario: str,
    *,
    settings: Settings | None = None,
    params: Params | None = None,
    options: DrillOptions | None = None,
) -> DrillReport:
    """Run one drill in staging; write the report; record ``drill.completed`` in
    production's ledger (the only change to production). See :mod:`safeship.drills`."""
    from safeship.config import Settings
    from safeship.drills.staging import (
        StagingGateway,
        drill_serving_params,
        seed_staging,
        staging_settings,
    )
    from safeship.gateway.requestlog import RequestLog, default_url
    from safeship.params import load_params
    from safeship.registry.store import Registry

    check_scenario(scenario)
    settings = settings or Settings.from_env()
    params = params or load_params(settings.project_root)
    options = options or DrillOptions()
    started = datetime.now(UTC)
    drill_id = f"{_stamp(started)}-{scenario}-{uuid.uuid4().hex[:6]}"
    production_registry = Registry.open(settings)
    try:
        production = production_registry.deployment(model).production
        if production is None:
            raise ConflictError(
                f"{model} has no production version: a drill needs one to protect "
                "(promote a version first)"
            )
        stage = staging_settings(settings, drill_id)
        staging = seed_staging(production_registry, stage, drill_id)
        report = DrillReport(
            drill_id=drill_id, model=model, scenario=scenario, outcome="failed",
            started_at=started.isoformat(), finished_at=started.isoformat(),
            production_version=production, options=options.model_dump(),
            staging_dir=str(stage.state_dir),
        )  # fmt: skip
        try:
            _execute(report, staging, params, options, drill_serving_params, StagingGateway,
                     RequestLog(default_url(stage)))  # fmt: skip
        finally:
            report.staging_ledger_events = staging.change_counter()
            staging.close()
            if not options.keep_artifacts:
                shutil.rmtree(stage.state_dir / "artifacts", ignore_errors=True)
        report.finished_at = datetime.now(UTC).isoformat()
        _publish(report, settings, production_registry, started)
        return report
    finally:
        production_registry.close()


def _record_outcome(
    report: DrillReport,
    run: DrillRun,
    detection: Detection,
    reverted_at: float | None,
    frame: Any,
) -> None:
    """Fill ``report`` from what the shipped code did: detection, revert, affected
    requests (``frame``: the staging request log of the model) and the end state."""
    options, candidate = run.options, run.candidate
    faulty = frame[frame["version"] == candidate.version]
    if run.fault_at is not None:  # served by the faulty version once the fault was live
        faulty = faulty[faulty["time"] >= datetime.fromtimestamp(run.fault_at, UTC)]
    report.requests_total = len(frame)
    report.requests_affected = len(faulty)
    report.fault_at = _iso(run.fault_at)
    report.detected_by, report.reverted_by = detection.by, detection.reverted_by
    report.detection = detection.detail
    report.gaps += detection.gaps
    if candidate.fault:
        report.detection["fault"] = candidate.fault
    if run.fault_at is not None and detection.at is not None:
        report.time_to_detect_s = round(detection.at - run.fault_at, 3)
    if run.fault_at is not None and reverted_at is not None:
        report.time_to_revert_s = round(reverted_at - run.fault_at, 3)
        if detection.at is not None:
            report.revert_after_detect_s = round(max(0.0, reverted_at - detection.at), 3)
        cutoff = datetime.fromtimestamp(reverted_at + 1.0, UTC)
        late = faulty[faulty["time"] > cutoff]
        if len(late):
            report.gaps.append(
                f"{len(late)} requests were answered by the faulty version more than 1 s "
                "after the gateway reported the revert"
            )
    checks, final, gaps = _end_state(run, detection.expect_status)
    report.safety_checks, report.final_state = checks, final
    report.gaps += gaps
    report.ended_safe = all(checks.values())
    if detection.at is None:
        report.failures.append("the fault was not detected")
    if detection.at is not None and reverted_at is None:
        report.failures.append(
            f"detected, but the staging gateway still routed to {candidate.version} "
            f"{options.max_revert_s:g} s later"
        )
    report.failures += [f"end state: {name}" for name, ok in checks.items() if not ok]
    report.outcome = "passed" if not report.failures else "failed"


def _execute(
    report: DrillReport,
    staging: Registry,
    params: Params,
    options: DrillOptions,
    serving: Any,
    gateway_cls: Any,
    log: RequestLog,
) -> None:
    """Start the staging gateway and traffic, let the shipped code meet the fault, record
    the outcome. Long on purpose: every process and thread it starts is stopped in one
    ``finally``, so a failing drill never leaves a gateway, traffic or upstream running."""
    import logging

    model, scenario, production = report.model, report.scenario, report.production_version
    gateway_log = logging.getLogger("safeship.gateway")
    level = gateway_log.level
    gateway_log.setLevel(logging.CRITICAL)  # the injected faults would flood stderr
    if scenario in CANARY_SCENARIOS:
        candidate = upstream_candidate(
            staging, model, scenario, error_rate=options.error_rate, latency_s=options.latency_s,
            toxic_rate=options.toxic_rate, production=production,
        )  # fmt: skip
    else:
        candidate = clean_candidate(staging, model, scenario, production)
    report.candidate_version = candidate.version
    gateway: StagingGateway | None = None
    traffic: DrillTraffic | None = None
    try:
        from safeship.safety.scorers import score_outputs

        score_outputs(["warm up the scorers before the clock starts"])
        if scenario == "output-drift":
            import evidently  # noqa: F401 - warm the import before the clock starts
        gateway = gateway_cls.start(staging.settings, serving(params.serving))
        assert gateway is not None
        report.staging_gateway = gateway.url
        wait_stable(gateway.url, model, production)
        traffic = DrillTraffic(gateway.url, model, options)
        from safeship.testing.traffic import load_prompts

        traffic.start(load_prompts())
        run = DrillRun(model=model, scenario=scenario, options=options, params=params,
                   staging=staging, gateway=gateway, log=log, traffic=traffic,
                   production=production, candidate=candidate)  # fmt: skip
        try:
            if scenario in CANARY_SCENARIOS:
                detection = canary_rollout(run)
            elif scenario == "tampered-artifact":
                detection = tampered(run)
            else:
                detection = drift(run)
        except SafeshipError as error:
            detection = Detection(gaps=[f"the drill could not go on: {error}"])
            report.failures.append(f"error during the drill: {error}")
        reverted_at = None
        if detection.not_acted:
            report.failures.append(f"detected, but not acted on: {detection.not_acted}")
        elif detection.at is not None:
            reverted_at = wait_reverted(gateway.url, model, candidate.version,
                                         options.max_revert_s)  # fmt: skip
        time.sleep(options.settle_s)
        traffic.stop()
        gateway.flush_log()
        _record_outcome(report, run, detection, reverted_at, log.query(model))
        report.traffic = traffic.summary()
    finally:
        gateway_log.setLevel(level)
        if traffic is not None:
            traffic.stop()
        if gateway is not None:
            gateway.close()
        log.engine.dispose()
        if candidate.upstream is not None:
            candidate.upstream.close()
