"""The lineage graph of a model as SVG, laid out in pure Python (no Graphviz needed).

Nodes: git commits and parameter sets (column 0), datasets (column 1), versions (columns
2.., by their depth in the parent tree). Edges: commit/params/dataset → the versions built
from them, parent → child. Within a column nodes are ordered by the mean position of
their neighbours in earlier columns (one barycentre sweep), which keeps most edges short.
Every version node links to its page (``href`` callback), so the picture is clickable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any

from safeship.ledger import canonical_json
from safeship.lineage.capture import datasets, params

STATUS_COLOURS = {
    "production": "#1a7f37",
    "canary": "#bf8700",
    "approved": "#0969da",
    "gated": "#0969da",
    "validated": "#57606a",
    "registered": "#57606a",
    "retired": "#8c959f",
    "rejected": "#cf222e",
}
NODE_W, NODE_H, COL_GAP, ROW_GAP, MARGIN = 170, 34, 70, 14, 20


@dataclass
class Node:
    id: str
    label: str
    kind: str  # version | dataset | params | commit
    column: int
    title: str = ""
    status: str | None = None
    href: str | None = None
    row: float = 0.0


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def add(self, node: Node) -> str:
        self.nodes.setdefault(node.id, node)
        return node.id

    def link(self, source: str, target: str) -> None:
        if (source, target) not in self.edges:
            self.edges.append((source, target))


def _depths(rows: list[dict[str, Any]]) -> dict[str, int]:
    parents = {r["version"]: r["parent"] for r in rows}
    depths: dict[str, int] = {}
    for version in parents:
        chain, current = [], version
        while current in parents and current not in depths and current not in chain:
            chain.append(current)
            current = parents[current]
        base = depths.get(current, -1) if current in parents else -1
        for offset, item in enumerate(reversed(chain), start=1):
            depths[item] = base + offset
    return depths


def build_graph(
    model: str,
    rows: list[dict[str, Any]],
    href: Callable[[str], str] | None = None,
    only: set[str] | None = None,
) -> Graph:
    """The graph of ``rows`` (``queries.version_graph_rows``), or of the versions in ``only``."""
    if only is not None:
        rows = [r for r in rows if r["version"] in only]
    depths = _depths(rows)
    graph = Graph()
    for r in rows:
        version = r["version"]
        vid = graph.add(
            Node(
                id=f"v:{version}",
                label=f"{model} {version}",
                kind="version",
                column=2 + depths.get(version, 0),
                title=f"{model} {version} ({r['status']}) {r['dir_hash']}",
                status=r["status"],
                href=href(version) if href else None,
            )
        )
        lineage = r["lineage"]
        commit = (lineage.get("git") or {}).get("commit")
        if commit:
            graph.link(
                graph.add(Node(f"c:{commit}", f"commit {commit[:10]}", "commit", 0, commit)), vid
            )
        settings = params(lineage)
        if settings:
            digest = hashlib.sha256(canonical_json(settings).encode()).hexdigest()[:10]
            title = canonical_json(settings)[:600]
            graph.link(graph.add(Node(f"p:{digest}", f"params {digest}", "params", 0, title)), vid)
        for path, md5 in datasets(lineage).items():
            name = path.rsplit("/", 1)[-1]
            label = f"{name} {str(md5)[:8]}"
            graph.link(
                graph.add(Node(f"d:{path}:{md5}", label, "dataset", 1, f"{path} md5 {md5}")), vid
            )
        if r["parent"] and (only is None or r["parent"] in only):
            graph.link(f"v:{r['parent']}", vid)
    graph.edges = [(a, b) for a, b in graph.edges if a in graph.nodes and b in graph.nodes]
    _order(graph)
    return graph


def _order(graph: Graph) -> None:
    columns: dict[int, list[Node]] = {}
    for node in graph.nodes.values():
        columns.setdefault(node.column, []).append(node)
    incoming: dict[str, list[str]] = {}
    for a, b in graph.edges:
        incoming.setdefault(b, []).append(a)

    def weight(node: Node) -> tuple[float, str]:
        earlier = [graph.nodes[s] for s in incoming.get(node.id, [])]
        rows = [n.row for n in earlier if n.column < node.column]
        return (sum(rows) / len(rows) if rows else 0.0, node.label)

    for column in sorted(columns):
        nodes = sorted(columns[column], key=weight)
        for index, node in enumerate(nodes):
            node.row = float(index)


def _centre(node: Node) -> tuple[float, float]:
    x = MARGIN + node.column * (NODE_W + COL_GAP)
    y = MARGIN + node.row * (NODE_H + ROW_GAP)
    return x, y


def to_svg(graph: Graph, title: str) -> str:
    """A standalone SVG document (also valid inline in HTML)."""
    if not graph.nodes:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40">'
            '<text x="10" y="25" font-family="sans-serif" font-size="13">no versions</text></svg>'
        )
    width = MARGIN * 2 + (max(n.column for n in graph.nodes.values()) + 1) * (NODE_W + COL_GAP)
    height = MARGIN * 2 + (max(n.row for n in graph.nodes.values()) + 1) * (NODE_H + ROW_GAP)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'class="lineage" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#8c959f"/></marker></defs>',
        '<g fill="none" stroke="#8c959f" stroke-width="1.2" marker-end="url(#arrow)">',
    ]
    for a, b in graph.edges:
        ax, ay = _centre(graph.nodes[a])
        bx, by = _centre(graph.nodes[b])
        x1, y1, x2, y2 = ax + NODE_W, ay + NODE_H / 2, bx, by + NODE_H / 2
        mid = (x1 + x2) / 2
        parts.append(
            f'<path d="M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"/>'
        )
    parts.append("</g>")
    fills = {"commit": "#f6f8fa", "params": "#fff8c5", "dataset": "#ddf4ff"}
    for node in graph.nodes.values():
        x, y = _centre(node)
        stroke = STATUS_COLOURS.get(node.status or "", "#57606a")
        fill = fills.get(node.kind, "#ffffff")
        shape = (
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="6" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{2 if node.kind == "version" else 1}"/>'
            f'<text x="{x + 8:.0f}" y="{y + 15:.0f}" font-family="sans-serif" font-size="12" '
            f'fill="#24292f">{escape(node.label[:26])}</text>'
            f'<text x="{x + 8:.0f}" y="{y + 28:.0f}" font-family="sans-serif" font-size="10" '
            f'fill="{stroke}">{escape(node.status or node.kind)}</text>'
        )
        body = f'<g class="node {node.kind}" data-id="{escape(node.id)}"><title>{escape(node.title)}</title>{shape}</g>'
        if node.href:
            body = f'<a href="{escape(node.href)}" xlink:href="{escape(node.href)}">{body}</a>'
        parts.append(body)
    parts.append("</svg>")
    return "\n".join(parts)


def ancestry(rows: list[dict[str, Any]], version: str) -> set[str]:
    """``version`` and its ancestors."""
    parents = {r["version"]: r["parent"] for r in rows}
    chain, current = set(), version
    while current is not None and current in parents and current not in chain:
        chain.add(current)
        current = parents[current]
    return chain
