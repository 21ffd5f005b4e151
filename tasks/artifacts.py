"""Prefect artifacts of a release: a markdown summary, a safety table, report links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from tasks.common import artifact_key


def summary_markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"# {summary['model']} {summary['version']}: **{summary['decision']}**",
        "",
        f"- run: `{summary['run_id']}`",
        f"- bundle: `{summary['bundle']}` (sha256 `{summary['bundle_sha256'][:16]}…`)",
        f"- approvals: {', '.join(a['approver'] + ' ' + a['outcome'] for a in summary['approvals']) or 'none'}",
        f"- timings (s): {summary['timings_s']}",
    ]
    if summary["reasons"]:
        lines += ["", "## Reasons", ""] + [f"- {r}" for r in summary["reasons"]]
    return "\n".join(lines)


def publish_artifacts(summary: dict[str, Any], sections: dict[str, Any], bundle: Path) -> None:
    key = artifact_key("release", summary["model"])
    create_markdown_artifact(summary_markdown(summary), key=key, description="release summary")
    checks = (sections.get("gate") or {}).get("checks") or []
    if checks:
        create_table_artifact(
            [
                {
                    "metric": c["metric"],
                    "kind": c["kind"],
                    "passed": c["passed"],
                    "value": c.get("value"),
                    "ci_high": c.get("ci_high"),
                    "limit": c.get("limit"),
                    "message": c["message"],
                }
                for c in checks
            ],
            key=f"{key}-safety",
            description="safety gate checks",
        )
    for html in sorted(bundle.rglob("*.html")):
        create_link_artifact(html.resolve().as_uri(), link_text=html.name, description="report")
