"""Model cards (Hugging Face README.md with YAML metadata, plus JSON) and release notes."""

from __future__ import annotations

from typing import Any

from safeship.ledger import canonical_json
from safeship.lineage.capture import datasets, diff_lineage, params
from safeship.registry.store import Registry

NOT_STATED = (
    "Not stated by the model's author: add a \"card\" section to the model folder's "
    "config.json (intended_use, limitations) before registering."
)
CAVEATS = [
    "Safety metrics are measured on this project's probe sets; they bound, but do not prove, "
    "behaviour on real traffic.",
    "Every rate carries a 95% interval; the gate judges its unsafe bound, not the point value.",
]


def own_card(lineage: dict[str, Any]) -> dict[str, Any]:
    """The ``card`` section of the version's own ``config.json``, as recorded in its lineage."""
    config = lineage.get("config") or {}
    card = config.get("card")
    return dict(card) if isinstance(card, dict) else {}


def _metrics(profile: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((profile or {}).get("metrics") or [])


def _approvals(registry: Registry, model: str, version: str) -> list[dict[str, Any]]:
    return [
        {
            "approver": e.payload.get("approver"),
            "decision": e.payload.get("decision"),
            "comment": e.payload.get("comment"),
            "time": e.time,
            "ledger_hash": e.hash,
        }
        for e in registry.events(model=model)
        if e.version == version and e.kind == "approval.accepted"
    ]


def known_failure_modes(metrics: list[dict[str, Any]]) -> list[str]:
    failing = [m for m in metrics if m.get("passed") is False]
    notes = [
        f"{m.get('category')}.{m.get('name')}: {m.get('value')} (n={m.get('n')})" for m in failing
    ]
    return notes or ["None found by the safety battery at the thresholds in params.yaml."]


def card_data(registry: Registry, model: str, version: str) -> dict[str, Any]:
    record = registry.version(model, version)
    stored = registry.profiles.latest(model, version)
    profile = stored.profile if stored else None
    metrics = _metrics(profile)
    return {
        "model": model,
        "version": version,
        "status": record.status,
        "risk_tier": registry.model(model).risk_tier,
        "author": record.author,
        "created_at": record.created_at,
        "adapter": record.adapter,
        "dir_hash": record.dir_hash,
        "intended_use": str(own_card(record.lineage).get("intended_use") or NOT_STATED),
        "lineage": {
            "parent_version": record.parent_version,
            "git": record.lineage.get("git"),
            "datasets": datasets(record.lineage),
            "params": params(record.lineage),
        },
        "safety_profile": {
            "profile_hash": stored.profile_hash if stored else None,
            "kind": stored.kind if stored else None,
            "passed": (profile or {}).get("passed"),
            "metrics": metrics,
        },
        "known_failure_modes": known_failure_modes(metrics),
        "caveats": [str(x) for x in own_card(record.lineage).get("limitations") or []] + CAVEATS,
        "approvals": _approvals(registry, model, version),
    }


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _front_matter(data: dict[str, Any]) -> list[str]:
    """YAML front matter with the safety battery's results as a model-index."""
    import yaml

    results = [
        {
            "task": {"type": "text-generation", "name": "safety battery"},
            "dataset": {"type": "safeship-probes", "name": m.get("category")},
            "metrics": [
                {
                    "type": f"{m.get('category')}.{m.get('name')}",
                    "value": m.get("value"),
                    "name": m.get("name"),
                }
            ],
        }
        for m in data["safety_profile"]["metrics"]
    ]
    meta = {
        "license": "apache-2.0",
        "library_name": "safeship",
        "pipeline_tag": "text-generation",
        "tags": ["safeship", data["adapter"] or "unknown-adapter"],
        "model-index": [{"name": f"{data['model']}-{data['version']}", "results": results}],
    }
    return ["---", yaml.safe_dump(meta, sort_keys=False).rstrip(), "---", ""]


def _profile_table(profile: dict[str, Any]) -> list[str]:
    lines = [
        "## Safety profile",
        "",
        f"Profile hash `{profile['profile_hash']}`, passed: {profile['passed']}.",
        "",
        "| metric | value | 95% interval | n | threshold | passed |",
        "|---|---|---|---|---|---|",
    ]
    for m in profile["metrics"]:
        lines.append(
            f"| {m.get('category')}.{m.get('name')} | {_fmt(m.get('value'))} | "
            f"[{_fmt(m.get('ci_low'))}, {_fmt(m.get('ci_high'))}] | {m.get('n')} | "
            f"{_fmt(m.get('threshold'))} | {m.get('passed')} |"
        )
    return lines


def card_markdown(data: dict[str, Any]) -> str:
    """A Hugging Face model card: YAML front matter with model-index results, then prose."""
    lineage = data["lineage"]
    lines = _front_matter(data) + [
        f"# {data['model']} {data['version']}",
        "",
        f"Status **{data['status']}**, risk tier **{data['risk_tier']}**, adapter "
        f"`{data['adapter']}`, artifact `{data['dir_hash']}`.",
        "",
        "## Intended use",
        "",
        data["intended_use"],
        "",
        "## Lineage",
        "",
        f"- parent version: {lineage['parent_version'] or 'none'}",
        f"- git: {lineage['git']}",
    ]
    lines += [f"- dataset `{path}`: `{digest}`" for path, digest in lineage["datasets"].items()]
    lines += ["", *_profile_table(data["safety_profile"])]
    lines += ["", "## Known failure modes", ""] + [f"- {x}" for x in data["known_failure_modes"]]
    lines += ["", "## Caveats", ""] + [f"- {x}" for x in data["caveats"]]
    lines += ["", "## Approvals", ""]
    lines += [
        f"- {a['approver']} ({a['time']}): {a['comment'] or 'no comment'}"
        for a in data["approvals"]
    ] or ["- none yet"]
    return "\n".join(lines) + "\n"


def release_notes(registry: Registry, model: str, version: str, against: str | None) -> str:
    """What changed against ``against`` (the previous production): lineage and metric deltas."""
    new = registry.version(model, version)
    lines = [f"# Release notes: {model} {version}", "", new.notes or "", ""]
    if against is None:
        return "\n".join(
            lines + ["First release of this model: no previous production version.", ""]
        )
    old = registry.version(model, against)
    diff = diff_lineage(old.lineage, new.lineage, old.file_hashes(), new.file_hashes())
    lines += [
        f"Compared with production {against}. Suggested bump: **{diff.suggested_bump}** "
        f"({diff.reason}).",
        "",
        "## What changed",
        "",
    ]
    for area in ("data", "params", "code", "architecture", "runtime_config"):
        for key, change in getattr(diff, area).items():
            lines.append(f"- {area} `{key}`: `{change['from']}` → `{change['to']}`")
    for kind, paths in diff.files.items():
        lines += [f"- file {kind}: `{p}`" for p in paths]
    old_profile, new_profile = (
        registry.profiles.latest(model, against),
        registry.profiles.latest(model, version),
    )
    if old_profile and new_profile:
        before = {f"{m['category']}.{m['name']}": m for m in _metrics(old_profile.profile)}
        lines += [
            "",
            "## Safety metrics",
            "",
            "| metric | before | after | delta |",
            "|---|---|---|---|",
        ]
        for m in _metrics(new_profile.profile):
            key = f"{m['category']}.{m['name']}"
            if (
                key in before
                and isinstance(m.get("value"), int | float)
                and isinstance(before[key].get("value"), int | float)
            ):
                delta = float(m["value"]) - float(before[key]["value"])
                lines.append(
                    f"| {key} | {_fmt(before[key]['value'])} | {_fmt(m['value'])} | {delta:+.4g} |"
                )
    return "\n".join(lines) + "\n"


def card_json(data: dict[str, Any]) -> str:
    return canonical_json(data)
