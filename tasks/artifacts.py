"""Prefect artifacts of a release: a markdown summary, a safety table, report links.

The review artifacts are published *before* the approval pause (so the approver sees
them while deciding), and every link is an http URL on the dashboard
(``SAFESHIP_DASHBOARD_URL``), never a ``file://`` path the Prefect UI cannot open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from safeship.dashboard.links import report_file_url, review_url, safety_url, version_url
from tasks.common import artifact_key


def summary_markdown(summary: dict[str, Any]) -> str:
    page = version_url(summary["model"], summary["version"])
    lines = [
        f"# {summary['model']} {summary['version']}: **{summary['decision']}**",
        "",
        f"- run: `{summary['run_id']}`",
        f"- bundle: `{summary['bundle']}` (sha256 `{summary['bundle_sha256'][:16]}…`)",
        f"- approvals: {', '.join(a['approver'] + ' ' + a['outcome'] for a in summary['approvals']) or 'none'}",
        f"- timings (s): {summary['timings_s']}",
    ]
    if page:
        lines.append(f"- dashboard: [{summary['model']} {summary['version']}]({page})")
    if summary["reasons"]:
        lines += ["", "## Reasons", ""] + [f"- {r}" for r in summary["reasons"]]
    return "\n".join(lines)


def _gate_table(key: str, gate: dict[str, Any]) -> None:
    checks = gate.get("checks") or []
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


def _report_links(key: str, reports: Path, bundle: Path) -> list[str]:
    """Link artifacts (named, http) for the bundle's HTML reports; markdown lines otherwise."""
    unlinked = []
    for html in sorted(bundle.rglob("*.html")):
        name = html.relative_to(bundle).as_posix()
        url = report_file_url(reports, html)
        if url is None:
            unlinked.append(f"- `{html}`")
            continue
        create_link_artifact(
            url,
            link_text=name,
            key=artifact_key(key, "report", name),
            description=f"report: {name}",
        )
    return unlinked


def publish_review_artifacts(
    model: str, version: str, run_id: str, gate: dict[str, Any], reports: Path, bundle: Path
) -> None:
    """What the approver needs, published before the run pauses for approval."""
    key = artifact_key("review", model)
    review = review_url(model, version)
    lines = [
        f"# Review {model} {version}",
        "",
        f"Gate: **{'passed' if gate['passed'] else 'failed'}** for the {gate['risk_tier']} tier.",
        "",
        f"Review page: [{model} {version}]({review})" if review else f"Reports: `{bundle}`",
        "",
        f'Approve: `safeship approve {run_id} --as YOUR_NAME --comment "why"` '
        "(or the Resume form behind this run's ⋮ menu).",
    ]
    create_markdown_artifact("\n".join(lines), key=key, description=f"review {model} {version}")
    _gate_table(key, gate)
    if review:
        create_link_artifact(
            review, link_text=f"review {model} {version}", key=artifact_key(key, "page"),
            description="the dashboard's review page",
        )  # fmt: skip
        create_link_artifact(
            str(safety_url(model, version)), link_text=f"safety report {model} {version}",
            key=artifact_key(key, "safety-report"), description="the readable safety report",
        )  # fmt: skip
    _report_links(key, reports, bundle)


def publish_artifacts(
    summary: dict[str, Any], sections: dict[str, Any], bundle: Path, reports: Path | None = None
) -> None:
    key = artifact_key("release", summary["model"])
    markdown = summary_markdown(summary)
    unlinked = _report_links(key, reports or bundle.parents[2], bundle)
    if unlinked:
        markdown += "\n\n## Reports (no dashboard running: files on the server)\n\n" + "\n".join(
            unlinked
        )
    create_markdown_artifact(markdown, key=key, description="release summary")
    _gate_table(key, sections.get("gate") or {})
