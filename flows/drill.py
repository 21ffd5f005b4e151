"""The rollback drill: prove, on a schedule, that a bad update is caught and undone.

A staging copy of production (own registry, request log and gateway port) gets a faulty
candidate on canary; real traffic runs through the staging gateway; the canary analysis or
the monitor must detect it and the gateway must stop serving it. The run publishes the
drill report (time to detect, time to revert, requests affected, end state, gaps) as a
markdown artifact and ends Failed when the drill failed. Production changes by one ledger
event, ``drill.completed``, carrying the report's hash.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from safeship.drills import DrillReport
from safeship.errors import SafeshipError
from tasks.common import artifact_key
from tasks.drill import run_drill_task


class DrillFailed(SafeshipError):
    """The drill ran and found the system did not detect or undo the fault."""


@flow(name="rollback-drill", log_prints=True)
def rollback_drill(
    model: str,
    scenario: str = "error-burst",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one rollback drill (`scenario`: unsafe-candidate, output-drift, latency-spike,
    error-burst or tampered-artifact) against a staging copy of `model`'s production."""
    logger = get_run_logger()
    data = run_drill_task(model, scenario, options)
    report = DrillReport.model_validate(data)
    create_markdown_artifact(
        report.markdown(),
        key=artifact_key("drill", model, scenario),
        description=f"rollback drill {scenario} of {model}: {report.outcome}",
    )
    logger.info(
        "drill %s %s: %s (detect %s s, revert %s s, %d requests affected)",
        model, scenario, report.outcome, report.time_to_detect_s, report.time_to_revert_s,
        report.requests_affected,
    )  # fmt: skip
    if report.outcome != "passed":
        raise DrillFailed(
            f"rollback drill {scenario} of {model} failed: {'; '.join(report.failures)}"
        )
    return data


if __name__ == "__main__":
    rollback_drill()
