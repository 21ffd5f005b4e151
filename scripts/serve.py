"""The serving process: Prefect deployments of safeship's flows (run by `make up`)."""

from __future__ import annotations

from prefect import serve

from flows.drill import rollback_drill
from flows.monitor import monitor
from flows.release import release
from flows.rescan import rescan
from flows.rollback import rollback
from flows.scheduled_release import scheduled_release
from safeship.config import load_params


def main() -> None:
    params = load_params()
    target = params.release.scheduled
    scheduled = []
    if target is not None:
        scheduled = [
            scheduled_release.to_deployment(
                name="scheduled-release",
                cron=params.release.scheduled_release_cron,
                parameters={"model": target.model, "candidate_path": target.candidate_path},
                description="Reproduce the DVC pipeline and release when the lineage changed",
            ),
            rollback_drill.to_deployment(
                name="rollback-drill",
                cron=params.release.rollback_drill_cron,
                parameters={"model": target.model},
                description="Rollback drill in a staging copy of production (detect + revert)",
            ),
        ]
    else:
        print("release.scheduled is not set in params.yaml: no scheduled-release or rollback-drill")
    serve(
        release.to_deployment(name="release", description="Release a candidate (manual, UI form)"),
        *scheduled,
        rollback.to_deployment(name="rollback", description="Roll production back"),
        monitor.to_deployment(
            name="monitor",
            interval=params.release.monitor_interval_s,
            description="Integrity, drift, safety rates and stale canaries of every model",
        ),
        rescan.to_deployment(
            name="rescan",
            description="Re-run the safety battery on released versions (profile amendments)",
        ),
    )


if __name__ == "__main__":
    main()
