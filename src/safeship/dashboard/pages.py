"""The data of the overview, lineage, timeline and drills pages (plain dicts for templates).

Each function reads; none writes. ``link`` turns a page path such as ``model/x/1.0.0/``
into the URL the page should use (absolute when served, relative in a static export).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from safeship.dashboard import graph as lineage_graph
from safeship.dashboard import queries
from safeship.dashboard.context import Context
from safeship.dashboard.health import Health, health_of
from safeship.dashboard.sources import PrefectView, prefect_view
from safeship.incidents import list_incidents

Link = Callable[[str], str]

PENDING_SHOWN = 100
TIMELINE_LANES = {
    "deployment.promoted": "promoted",
    "deployment.rolled_back": "rolled back",
    "deployment.canary_aborted": "rolled back",
    "deployment.canary": "canary",
    "deployment.shadow": "shadow",
    "version.rejected": "rejected",
    "drill.completed": "drill",
    "monitor.alert": "alert",
    "incident.opened": "incident",
    "incident.resolved": "incident",
}


def prefect(ctx: Context) -> PrefectView | None:
    return prefect_view(ctx.prefect_api) if ctx.prefect_api else None


def review_runs(ctx: Context, model: str, version: str, view: PrefectView | None) -> list[Any]:
    """Paused Prefect runs releasing this version (their bundles carry the run id)."""
    if view is None or not view.reachable:
        return []
    folder = ctx.reports / model / version
    runs = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    return [run for run in view.paused if run.id in runs]


def overview(ctx: Context) -> dict[str, Any]:
    rows = queries.model_rows(ctx.registry)
    rollbacks = queries.last_rollbacks(ctx.registry)
    view = prefect(ctx)
    log = ctx.request_log
    names = [row.name for row in rows]
    health: dict[str, Health] | dict[str, None] = (
        health_of(log, names, ctx.params.safety, window_s=ctx.health_window_s, cache=ctx.scores)
        if log is not None
        else dict.fromkeys(names)
    )
    awaiting = [(row.name, version) for row in rows for version in row.awaiting]
    pending = [
        {"model": model, "version": version, "runs": review_runs(ctx, model, version, view)}
        for model, version in awaiting[:PENDING_SHOWN]
    ]
    return {
        "models": rows,
        "rollbacks": rollbacks,
        "health": health,
        "ledger": ctx.ledger.result,
        "ledger_checked": _ago(ctx.ledger.result.checked_at),
        "prefect": view,
        "pending": pending,
        "paused_unmatched": [
            run
            for run in (view.paused if view and view.reachable else [])
            if not any(run in p["runs"] for p in pending)
        ],
        "window_min": ctx.health_window_s // 60,
        "incidents": list_incidents(ctx.registry, status="open")[:50],
        "pending_total": len(awaiting),
    }


def _ago(epoch: float | None) -> str:
    if epoch is None:
        return "not checked yet"
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def lineage_page(
    ctx: Context, model: str, link: Link, version: str | None = None
) -> dict[str, Any]:
    ctx.registry.model(model)  # a clear NotFoundError for an unknown model
    rows = queries.version_graph_rows(ctx.registry, model)
    only = None
    if version is not None:
        ctx.registry.version(model, version)
        only = lineage_graph.ancestry(rows, version)
    built = lineage_graph.build_graph(
        model, rows, href=lambda v: link(f"model/{model}/{v}/"), only=only
    )
    title = f"lineage of {model}" + (f" {version} (ancestry)" if version else "")
    return {
        "model": model,
        "version": version,
        "svg": lineage_graph.to_svg(built, title),
        "counts": {
            kind: sum(1 for n in built.nodes.values() if n.kind == kind)
            for kind in ("version", "dataset", "params", "commit")
        },
    }


def lineage_svg(ctx: Context, model: str, version: str | None, link: Link) -> str:
    """The same picture ``safeship lineage MODEL --format svg`` writes."""
    return str(lineage_page(ctx, model, link, version)["svg"])


def _describe(event: dict[str, Any]) -> str:
    p = event["payload"]
    kind = event["kind"]
    if kind == "deployment.canary":
        return f"canary weight {p.get('weight')}%" + (f": {p['reason']}" if p.get("reason") else "")
    if kind == "drill.completed":
        return (
            f"drill {p.get('scenario')}: {p.get('outcome')} (detect {p.get('time_to_detect_s')} s, "
            f"revert {p.get('time_to_revert_s')} s)"
        )
    if kind == "monitor.alert":
        return f"{p.get('check')}: {p.get('message')}"
    reason = f": {p['reason']}" if p.get("reason") else ""
    if kind == "deployment.promoted":
        return f"replaced {p.get('from_version') or 'nothing'} (by {event['actor']}){reason}"
    if kind == "deployment.rolled_back":
        automatic = "automatic" if str(event["actor"]).startswith("safeship") else "manual"
        return f"{automatic} rollback from {p.get('from_version')} (by {event['actor']}){reason}"
    return str(p.get("reason") or p.get("title") or "")


def timeline_page(ctx: Context, model: str, at: datetime | None) -> dict[str, Any]:
    ctx.registry.model(model)
    events = queries.events_of(ctx.registry, model=model, kinds=tuple(TIMELINE_LANES), limit=500)
    rows = [
        {
            **e,
            "lane": TIMELINE_LANES[e["kind"]],
            "text": _describe(e),
        }
        for e in events
    ]
    from safeship.dashboard.plots import timeline_svg

    chart = (
        timeline_svg(rows, f"{model}: deployments, rollbacks, canary steps, drills") if rows else ""
    )
    served = ctx.registry.history_at(model, at) if at is not None else None
    return {
        "model": model,
        "events": list(reversed(rows)),
        "chart": chart,
        "served": served,
        "at": at,
    }


def drills_page(ctx: Context) -> dict[str, Any]:
    events = queries.events_of(ctx.registry, kinds=("drill.completed",), limit=1000)
    drills = []
    for e in events:
        p = e["payload"]
        report = Path(str(p.get("report") or ""))
        relative = None
        if report.name:
            try:
                relative = report.resolve().relative_to(ctx.reports.resolve()).as_posix()
            except ValueError:
                relative = None
        drills.append({**p, "time": e["time"], "model": e["model"], "seq": e["seq"],
                       "report_rel": relative,
                       "report_md": relative.replace("report.json", "report.md") if relative else None})  # fmt: skip
    from safeship.dashboard.plots import drill_trend_svg

    return {
        "drills": list(reversed(drills)),
        "chart": drill_trend_svg(drills) if drills else "",
        "schedule": drill_schedule(ctx),
    }


def drill_schedule(ctx: Context) -> dict[str, Any] | None:
    """The ``rollback-drill`` deployment's schedules from the Prefect API (None if unknown)."""
    if not ctx.prefect_api:
        return None
    import httpx

    try:
        response = httpx.post(
            ctx.prefect_api.rstrip("/") + "/deployments/filter",
            json={"deployments": {"name": {"any_": ["rollback-drill"]}}, "limit": 5},
            timeout=1.5,
        )
        response.raise_for_status()
        found = response.json()
    except (httpx.HTTPError, ValueError) as error:
        return {
            "error": f"{type(error).__name__}: {error}"[:200],
            "deployments": 0,
            "schedules": [],
        }
    schedules = [
        (s.get("schedule") or {}).get("cron") or (s.get("schedule") or {}).get("interval")
        for d in found
        for s in d.get("schedules") or []
    ]
    return {"error": None, "deployments": len(found), "schedules": [str(s) for s in schedules if s]}
