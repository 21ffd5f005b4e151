"""Tasks of the rollback-drill flow: run one drill (the core does the work)."""

from __future__ import annotations

from typing import Any

from safeship.config import Settings, apply_offline_env
from safeship.drills import DrillOptions, run_drill
from tasks.common import task


@task(name="run-drill")
def run_drill_task(
    model: str, scenario: str, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Seed staging from production, inject the fault, measure detection and revert; the
    report is written under reports/drills/ and production's ledger gets drill.completed."""
    settings = Settings.from_env()
    apply_offline_env(settings.state_dir)
    report = run_drill(model, scenario, settings=settings,
                       options=DrillOptions(**(options or {})))  # fmt: skip
    return report.model_dump(mode="json")
