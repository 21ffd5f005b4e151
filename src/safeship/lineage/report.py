"""A version's lineage as a graph (ancestors, datasets, params) in JSON, Mermaid or DOT."""

from __future__ import annotations

from typing import Any

from safeship.lineage.capture import LineageDiff, datasets, diff_lineage, params
from safeship.registry.records import VersionRecord
from safeship.registry.store import Registry


def ancestors(registry: Registry, record: VersionRecord) -> list[VersionRecord]:
    chain: list[VersionRecord] = []
    seen = {record.version}
    current = record
    while current.parent_version and current.parent_version not in seen:
        current = registry.version(record.model, current.parent_version)
        seen.add(current.version)
        chain.append(current)
    return chain


def lineage_graph(registry: Registry, model: str, version: str) -> dict[str, Any]:
    record = registry.version(model, version)
    stage = record.lineage.get("dvc_stage") or {}
    return {
        "model": model,
        "version": version,
        "dir_hash": record.dir_hash,
        "ancestors": [
            {"version": a.version, "dir_hash": a.dir_hash, "status": a.status}
            for a in ancestors(registry, record)
        ],
        "stage": stage.get("stage"),
        "lock_matches_artifact": stage.get("lock_matches_artifact"),
        "datasets": datasets(record.lineage),
        "params": params(record.lineage),
        "git": record.lineage.get("git"),
        "environment": record.lineage.get("environment"),
        "adapter": record.adapter,
    }


def _node_id(text: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in text)


def _edges(graph: dict[str, Any]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Nodes (id → label) and edges (from → to) of the lineage graph."""
    target = f"{graph['model']} {graph['version']}"
    nodes = {_node_id(target): target}
    edges: list[tuple[str, str]] = []
    child = _node_id(target)
    for ancestor in graph["ancestors"]:
        label = f"{graph['model']} {ancestor['version']}"
        nodes[_node_id(label)] = label
        edges.append((_node_id(label), child))
        child = _node_id(label)
    stage_label = f"stage {graph['stage']}" if graph["stage"] else None
    if stage_label:
        nodes[_node_id(stage_label)] = stage_label
        edges.append((_node_id(stage_label), _node_id(target)))
    for path, md5 in graph["datasets"].items():
        label = f"{path} ({str(md5)[:8]})"
        nodes[_node_id(label)] = label
        edges.append((_node_id(label), _node_id(stage_label or target)))
    return nodes, edges


def to_mermaid(graph: dict[str, Any]) -> str:
    nodes, edges = _edges(graph)
    lines = ["graph LR"]
    lines += [f'  {node}["{label}"]' for node, label in nodes.items()]
    lines += [f"  {a} --> {b}" for a, b in edges]
    return "\n".join(lines)


def to_dot(graph: dict[str, Any]) -> str:
    nodes, edges = _edges(graph)
    lines = ["digraph lineage {", "  rankdir=LR;"]
    lines += [f'  {node} [label="{label}"];' for node, label in nodes.items()]
    lines += [f"  {a} -> {b};" for a, b in edges]
    lines.append("}")
    return "\n".join(lines)


def version_diff(registry: Registry, model: str, old: str, new: str) -> LineageDiff:
    a, b = registry.version(model, old), registry.version(model, new)
    return diff_lineage(a.lineage, b.lineage, a.file_hashes(), b.file_hashes())
