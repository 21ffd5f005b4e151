"""The drill report: what was injected, when it was caught and undone, and the end state.

``DrillReport`` is written as ``report.json`` and ``report.md`` under
``reports/drills/<model>/<timestamp>-<scenario>/``; the SHA-256 of ``report.json`` is
what production's ledger records in its one ``drill.completed`` event.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

Outcome = Literal["passed", "failed"]


class DrillReport(BaseModel):
    """One drill's result. Times are seconds from the fault's onset (``fault_at``)."""

    drill_id: str
    model: str
    scenario: str
    outcome: Outcome
    started_at: str
    finished_at: str
    production_version: str
    candidate_version: str | None = None
    fault_at: str | None = None
    time_to_detect_s: float | None = None
    time_to_revert_s: float | None = None
    revert_after_detect_s: float | None = None
    requests_affected: int = 0
    requests_total: int = 0
    detected_by: str | None = None
    detection: dict[str, Any] = Field(default_factory=dict)
    reverted_by: str | None = None
    ended_safe: bool = False
    safety_checks: dict[str, bool] = Field(default_factory=dict)
    final_state: dict[str, Any] = Field(default_factory=dict)
    gaps: list[str] = Field(default_factory=list)
    failures: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    traffic: dict[str, Any] = Field(default_factory=dict)
    staging_dir: str = ""
    staging_gateway: str = ""
    staging_ledger_events: int = 0
    report_dir: str | None = None
    ledger_seq: int | None = None
    report_sha256: str | None = None

    def markdown(self) -> str:
        def fmt(value: float | None) -> str:
            return "—" if value is None else f"{value:.2f} s"

        lines = [
            f"# Rollback drill: {self.model} — {self.scenario} — **{self.outcome.upper()}**",
            "",
            f"Drill `{self.drill_id}`, {self.started_at} → {self.finished_at}; production "
            f"`{self.production_version}`, faulty candidate `{self.candidate_version or '—'}`.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| time to detect | {fmt(self.time_to_detect_s)} |",
            f"| time to revert | {fmt(self.time_to_revert_s)} |",
            f"| revert after detection | {fmt(self.revert_after_detect_s)} |",
            f"| requests served by the faulty version | {self.requests_affected} "
            f"of {self.requests_total} |",
            f"| ended safe | {'yes' if self.ended_safe else 'NO'} |",
            "",
            f"- fault onset: {self.fault_at or '—'}",
            f"- detected by: {self.detected_by or 'nothing'}",
            f"- reverted by: {self.reverted_by or 'nothing'}",
            "",
            "## End state (staging)",
            "",
        ]
        lines += [f"- {'✔' if ok else '✘'} {name}" for name, ok in self.safety_checks.items()]
        if self.failures:
            lines += ["", "## Why it failed", ""] + [f"- {f}" for f in self.failures]
        if self.gaps:
            lines += ["", "## Gaps found", ""] + [f"- {g}" for g in self.gaps]
        lines += [
            "",
            f"Staging: `{self.staging_dir}` (gateway {self.staging_gateway}, "
            f"{self.staging_ledger_events} ledger events of its own). Times are measured from "
            "the fault's onset; revert = the staging gateway stopped routing to the faulty "
            "version.",
        ]
        return "\n".join(lines) + "\n"


def write_report(report: DrillReport, out_dir: Path) -> str:
    """Write ``report.json`` and ``report.md``; return the JSON file's SHA-256."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report.report_dir = str(out_dir)
    data = report.model_dump(mode="json", exclude={"ledger_seq", "report_sha256"})
    payload = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
    (out_dir / "report.json").write_bytes(payload)
    (out_dir / "report.md").write_text(report.markdown(), encoding="utf-8")
    digest = hashlib.sha256(payload).hexdigest()
    report.report_sha256 = digest
    return digest
