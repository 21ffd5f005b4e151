"""The data of a version's page and of the review page for a release awaiting approval."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeship.dashboard import queries
from safeship.dashboard.context import Context
from safeship.dashboard.pages import prefect, review_runs
from safeship.dashboard.sources import Bundle, bundles, newest_file
from safeship.incidents import for_version
from safeship.lineage.capture import code, datasets, params

if TYPE_CHECKING:
    import pandas as pd

OUTPUTS = "safety/outputs.parquet"
WORST_PER_CATEGORY = 5


def gate_checks(ctx: Context, model: str, version: str) -> dict[str, Any] | None:
    """The gate judged now on the stored profiles with the current ``params.yaml``."""
    from safeship.release.steps import judge_gate

    if ctx.registry.profiles.latest(model, version) is None:
        return None
    result, payload = judge_gate(ctx.registry, model, version, ctx.params)
    return {**result.model_dump(), "against": payload["against"]}


def badness(frame: pd.DataFrame) -> pd.Series:
    """How bad each output is, for ordering worst-first (flags count 1 each + toxicity)."""
    score = (
        frame["toxicity"].astype(float).fillna(0.0) if "toxicity" in frame else 0.0 * frame.index
    )
    for flag in ("pii", "guardrail_violation", "gx_guardrail_violation"):
        if flag in frame:
            score = score + frame[flag].fillna(False).astype(float)
    if "canary_leak" in frame:
        score = score + (frame["canary_leak"].fillna("") != "").astype(float)
    if "ok" in frame:
        score = score + (~frame["ok"].fillna(False).astype(bool)).astype(float)
    return score


def _read_outputs(path: Path | None) -> pd.DataFrame | None:
    if path is None or not path.is_file():
        return None
    import pandas as pd

    return pd.read_parquet(path)


SHOWN = ("category", "probe_id", "prompt", "text", "toxicity", "pii_kinds",
         "guardrail_reasons", "canary_leak", "error")  # fmt: skip


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows with every shown column (None where the table lacks it or holds NaN)."""
    rows = frame[[c for c in SHOWN if c in frame]].to_dict(orient="records")
    return [
        {k: (None if (v := row.get(k)) is None or v != v else v) for k in SHOWN} for row in rows
    ]


def worst_outputs(
    frame: pd.DataFrame | None, categories: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The worst outputs of each category in ``categories`` (from ``outputs.parquet``)."""
    if frame is None or frame.empty:
        return {}
    scored = frame.assign(_bad=badness(frame))
    result: dict[str, list[dict[str, Any]]] = {}
    for category in categories:
        rows = scored[scored["category"] == category].sort_values("_bad", ascending=False)
        if not rows.empty:
            result[category] = _records(rows.head(WORST_PER_CATEGORY))
    return result


def failing_categories(metrics: list[dict[str, Any]], gate: dict[str, Any] | None) -> list[str]:
    names = [str(m["category"]) for m in metrics if m.get("passed") is False]
    if gate:
        names += [str(c["metric"]).split(".")[0] for c in gate["checks"] if not c["passed"]]
    return list(dict.fromkeys(names))


def version_page(ctx: Context, model: str, version: str) -> dict[str, Any]:
    from safeship.release.cards import card_data, card_markdown, release_notes

    registry = ctx.registry
    record = registry.version(model, version)
    tier = registry.model(model).risk_tier
    history = registry.profiles.history(model, version)
    latest = history[-1] if history else None
    metrics = list((latest.profile if latest else {}).get("metrics") or [])
    gate = gate_checks(ctx, model, version)
    found = bundles(ctx.reports, model, version)
    outputs = _read_outputs(newest_file(ctx.reports, found, OUTPUTS))
    parent = record.parent_version
    parent_outputs = (
        _read_outputs(newest_file(ctx.reports, bundles(ctx.reports, model, parent), OUTPUTS))
        if parent
        else None
    )
    events = queries.events_of(registry, model=model, version=version, limit=300)
    children = [
        r["version"] for r in queries.version_graph_rows(registry, model) if r["parent"] == version
    ]
    notes_file = newest_file(ctx.reports, found, "RELEASE_NOTES.md")
    previous = ctx.registry.deployment(model).production
    notes = (
        notes_file.read_text(encoding="utf-8")
        if notes_file
        else release_notes(registry, model, version, record.parent_version or (
            previous if previous != version else None))
    )  # fmt: skip
    return {
        "record": record,
        "tier": tier,
        "profile": latest,
        "profiles": history,
        "metrics": metrics,
        "gate": gate,
        "gate_events": [e for e in events if e["payload"].get("gate")],
        "worst": worst_outputs(outputs, failing_categories(metrics, gate)),
        "outputs_found": outputs is not None,
        "lineage": {
            "datasets": datasets(record.lineage),
            "params": params(record.lineage),
            "code": code(record.lineage),
            "git": record.lineage.get("git") or {},
            "stage": (record.lineage.get("dvc_stage") or {}).get("stage"),
            "environment": record.lineage.get("environment") or {},
        },
        "children": children,
        "changed": side_by_side(outputs, parent_outputs),
        "approvals": [e for e in events if e["kind"].startswith("approval.")],
        "events": events,
        "card": card_markdown(card_data(registry, model, version)),
        "notes": notes,
        "bundles": found,
        "incidents": for_version(registry, model, version),
    }


def _compare(
    candidate: list[dict[str, Any]], production: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    before = {f"{m['category']}.{m['name']}": m for m in production}
    rows = []
    for m in candidate:
        key = f"{m['category']}.{m['name']}"
        old = before.get(key)
        delta = None
        if (
            old is not None
            and isinstance(m.get("value"), int | float)
            and isinstance(old.get("value"), int | float)
        ):
            delta = float(m["value"]) - float(old["value"])
        rows.append({"key": key, "new": m, "old": old, "delta": delta})
    return rows


def side_by_side(
    candidate: pd.DataFrame | None, production: pd.DataFrame | None, per_category: int = 2
) -> list[dict[str, Any]]:
    """The same probe prompts answered by production and by the candidate (first sample),
    the pairs where the candidate looks worst first, ``per_category`` per category."""
    if candidate is None or production is None or candidate.empty or production.empty:
        return []
    keys = ["category", "prompt"]
    left = candidate[candidate.get("sample", 0) == 0] if "sample" in candidate else candidate
    right = production[production.get("sample", 0) == 0] if "sample" in production else production
    left = left.assign(_bad=badness(left)).drop_duplicates(keys)
    right = right.assign(_bad=badness(right)).drop_duplicates(keys)
    merged = left.merge(right, on=keys, suffixes=("_new", "_old"))
    if merged.empty:
        return []
    merged["_worse"] = merged["_bad_new"] - merged["_bad_old"]
    picked = (
        merged.sort_values("_worse", ascending=False)
        .groupby("category", sort=True)
        .head(per_category)
    )
    return [
        {
            "category": r["category"],
            "prompt": r["prompt"],
            "new": r.get("text_new"),
            "old": r.get("text_old"),
            "new_toxicity": r.get("toxicity_new"),
            "old_toxicity": r.get("toxicity_old"),
            "worse": float(r["_worse"]),
        }
        for r in picked.to_dict(orient="records")
    ]


def _bundle_section(found: list[Bundle], name: str) -> Any:
    for bundle in found:
        if bundle.release and bundle.release.get(name) is not None:
            return bundle.release[name]
    return None


def review_page(ctx: Context, model: str, version: str) -> dict[str, Any]:
    registry = ctx.registry
    record = registry.version(model, version)
    production = registry.deployment(model).production
    page = version_page(ctx, model, version)
    found = page["bundles"]
    old_metrics: list[dict[str, Any]] = []
    old_outputs = None
    if production and production != version:
        stored = registry.profiles.latest(model, production)
        old_metrics = list((stored.profile if stored else {}).get("metrics") or [])
        old_outputs = _read_outputs(
            newest_file(ctx.reports, bundles(ctx.reports, model, production), OUTPUTS)
        )
    new_outputs = _read_outputs(newest_file(ctx.reports, found, OUTPUTS))
    view = prefect(ctx)
    runs = review_runs(ctx, model, version, view)
    run_id = runs[0].id if runs else (found[0].run_id if found else "RUN_ID")
    tier_policy = ctx.params.release.tiers.get(page["tier"])
    validation_files = [f for b in found for f in b.files if "/validation/" in f]
    return {
        **page,
        "record": record,
        "production": production,
        "comparison": _compare(page["metrics"], old_metrics),
        "samples": side_by_side(new_outputs, old_outputs),
        "shadow": _bundle_section(found, "shadow"),
        "validation": _bundle_section(found, "validation"),
        "validation_files": validation_files,
        "prefect": view,
        "runs": runs,
        "run_id": run_id,
        "required": tier_policy.approvals_required if tier_policy else None,
        "approvers": list(tier_policy.approvers) if tier_policy else [],
        "awaiting": record.status == "gated",
    }
