"""The monitor: integrity, output drift, safety rates and unsafe states of every model.

Scheduled every ``release.monitor_interval_s`` seconds (the `monitor` deployment). Per
model: re-hash every deployed version against the catalog; compare production outputs
of the recent window of the request log with a reference window (Evidently drift report
under ``reports/monitor/<model>/<timestamp>/``); judge safety rates against ``monitor``
limits; take a stale canary off traffic. A version whose release run timed out while
suspended for approval (Prefect fails the run without running the flow) is rejected here. Alerts are ``monitor.alert`` ledger events and
Prefect artifacts; under ``monitor.policy.<model>: rollback`` production is rolled back.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from safeship.config import Settings
from safeship.errors import SafeshipError
from safeship.monitoring.policy import Finding, plan_actions
from tasks import monitor as t
from tasks.common import artifact_key, load_params_task
from tasks.release import checkpoint_task


def alert_markdown(title: str, findings: list[Finding], actions: list[dict[str, Any]]) -> str:
    lines = [f"# {title}", ""]
    lines += [f"- **{f.check}** {f.role or ''} `{f.version or '-'}`: {f.message}" for f in findings]
    if actions:
        lines += ["", "## Actions", ""]
        lines += [f"- {a['kind']}: {a.get('result')} ({a['reason'][:200]})" for a in actions]
    return "\n".join(lines)


@flow(name="monitor", log_prints=True)
def monitor(models: list[str] | None = None) -> dict[str, Any]:
    """Check every model (or `models`): integrity of deployed versions, drift and safety
    rates of production traffic, stale canaries; alert, and roll back where the policy
    (`monitor.policy` in params.yaml) says so."""
    logger = get_run_logger()
    params = load_params_task()
    out_root = Settings.from_env().project_root / "reports" / "monitor"
    try:
        busy = t.runs_in_progress_task()
    except Exception as error:  # noqa: BLE001 - without the API, assume nothing is running
        logger.warning("could not list release runs (%s); judging canaries by age only", error)
        busy = {}
    summary: dict[str, Any] = {}
    try:
        for line in t.expired_waits_task(params):
            logger.warning("approval wait expired: %s", line)
    except SafeshipError as error:  # without the API, the sweep waits for the next run
        logger.warning("could not check expired approval waits (%s)", error)
    for model in models or t.models_task():
        policy = params.monitor.policy_for(model)
        findings = list(t.integrity_task(model))
        traffic = t.traffic_task(model, params, out_root)
        findings += traffic.findings
        repaired = t.canary_task(
            model, params.monitor.stale_canary_s, bool(busy.get(model) or busy.get("*"))
        )
        if repaired is not None:
            findings.append(repaired)
        actions = plan_actions(
            model, policy, findings, traffic.rates,
            rollback_on_rates=params.monitor.rollback_on_rates,
        )  # fmt: skip
        alerts = [f for f in findings if f.severity == "alert"]
        seqs = t.alerts_task(alerts) if alerts else []
        done = t.act_task(model, actions) if actions else []
        if alerts or done:
            create_markdown_artifact(
                alert_markdown(f"Monitor alert: {model} (policy {policy})", alerts, done),
                key=artifact_key("monitor-alert", model),
                description=f"monitor alerts for {model}",
            )
        for finding in alerts:
            logger.warning("%s", finding.message)
        summary[model] = {
            "policy": policy,
            "alerts": [f.model_dump() for f in alerts],
            "info": [f.message for f in findings if f.severity != "alert"],
            "alert_seqs": seqs,
            "actions": done,
            "drift": traffic.drift.model_dump(),
            "rates": [r.model_dump() for r in traffic.rates],
        }
    checkpoint_task("monitor")  # issue 14: anchor the ledger head on the monitor's schedule
    return summary


if __name__ == "__main__":
    monitor()
