"""Rescan: the safety battery again on released versions; living safety profiles.

Re-runs the battery (e.g. on a newer probe set, `probe_dir`) on production and the most
recent earlier versions (or `versions`) and appends each result to the version's safety
profile as an amendment with `reason` (baselines stay locked). If production now fails
the gate: an alert (ledger event and artifact) and, under `monitor.policy.<model>:
rollback`, a rollback to the newest earlier version that still passes the gate.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.monitor import alert_markdown
from safeship.config import Settings
from safeship.monitoring.rescan import production_alert
from tasks import monitor as t
from tasks.common import artifact_key, load_params_task


@flow(name="rescan", log_prints=True)
def rescan(
    model: str,
    versions: list[str] | None = None,
    reason: str = "rescan on the current probe sets",
    probe_dir: str | None = None,
) -> dict[str, Any]:
    """Re-run the safety battery on production and recent versions (or `versions`),
    append profile amendments with `reason`, and re-judge the gate on production; alert,
    and roll back under the `rollback` policy, when production now fails."""
    logger = get_run_logger()
    params = load_params_task()
    policy = params.monitor.policy_for(model)
    stamp = t.stamp_task()
    out_root = Settings.from_env().project_root / "reports" / model
    probes = t.probes_task(probe_dir)
    production = t.production_task(model)
    targets = t.rescan_targets_task(model, params, versions)
    scans = [
        t.scan_task(model, v, params, reason, probes, out_root / v / f"rescan-{stamp}" / "safety")
        for v in targets
    ]
    create_table_artifact(
        [
            {"version": s.version, "profile": s.kind, "gate": "pass" if s.gate_passed else "FAIL",
             "probe_set": (s.probe_set_hash or "")[:12], "reasons": "; ".join(s.gate_reasons)[:300]}
            for s in scans
        ],
        key=artifact_key("rescan", model),
        description=f"rescan of {model}: {reason}",
    )  # fmt: skip
    result: dict[str, Any] = {
        "model": model, "reason": reason, "policy": policy, "production": production,
        "probe_set": {"version": probes.version, "hash": probes.sha256},
        "scans": [s.model_dump() for s in scans], "alerts": [], "rollback": None,
    }  # fmt: skip
    failing = next((s for s in scans if s.version == production and not s.gate_passed), None)
    if failing is not None:
        finding = production_alert(model, failing, reason)
        result["alerts"] = [finding.model_dump()]
        result["alert_seqs"] = t.alerts_task([finding])
        logger.warning("%s", finding.message)
        done: list[dict[str, Any]] = []
        if policy == "rollback":
            outcome = t.rollback_to_passing_task(model, params, reason, probes, out_root)
            result["rollback"] = outcome
            done = [{"kind": "rollback", "reason": reason, **outcome}]
        create_markdown_artifact(
            alert_markdown(f"Rescan alert: {model} (policy {policy})", [finding], done),
            key=artifact_key("rescan-alert", model),
            description=f"rescan alert for {model}",
        )
    return result


if __name__ == "__main__":
    rescan()
