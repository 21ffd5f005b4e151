"""``lineage MODEL VERSION`` and ``lineage diff MODEL A B``."""

from __future__ import annotations

import argparse
from typing import Any

from safeship.cli.common import add_json_flag, open_registry
from safeship.cli.output import print_json, print_table


def _lineage(args: argparse.Namespace) -> int:
    from safeship.errors import InputError
    from safeship.lineage.report import lineage_graph, to_dot, to_mermaid

    words = args.words
    if words and words[0] == "diff":
        if len(words) != 4:
            raise InputError("usage: safeship lineage diff MODEL A B [--json]")
        return _diff(args, *words[1:])
    if args.format == "svg":
        return _svg(args, words)
    if len(words) != 2:
        raise InputError(
            "usage: safeship lineage MODEL VERSION [--format json|mermaid|dot] "
            "or safeship lineage diff MODEL A B"
        )
    with open_registry() as registry:
        graph = lineage_graph(registry, words[0], words[1])
    if args.format == "mermaid":
        print(to_mermaid(graph))
    elif args.format == "dot":
        print(to_dot(graph))
    else:
        print_json(graph)
    return 0


def _svg(args: argparse.Namespace, words: list[str]) -> int:
    """The dashboard's lineage picture: the whole model, or one version's ancestry."""
    from pathlib import Path

    from safeship.config import Settings
    from safeship.dashboard.context import Context
    from safeship.dashboard.site import Site
    from safeship.errors import InputError

    if len(words) not in (1, 2):
        raise InputError("usage: safeship lineage MODEL [VERSION] --format svg [--output FILE]")
    ctx = Context.open(Settings.from_env(), prefect_api=None, request_log_url=None)
    try:
        svg = Site(ctx, "export").lineage_svg(words[0], words[1] if len(words) == 2 else None)
    finally:
        ctx.close()
    if args.output:
        Path(args.output).write_text(svg + "\n", encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(svg)
    return 0


def _diff(args: argparse.Namespace, model: str, old: str, new: str) -> int:
    from safeship.lineage.report import version_diff

    with open_registry() as registry:
        diff = version_diff(registry, model, old, new)
    if args.json:
        print_json(diff.to_dict())
        return 0
    rows: list[tuple[str, str, str, str]] = []
    for area in ("data", "params", "code", "architecture", "runtime_config"):
        for key, change in getattr(diff, area).items():
            rows.append((area, key, str(change["from"]), str(change["to"])))
    for kind, paths in diff.files.items():
        rows += [("files", path, kind, "") for path in paths]
    print_table(f"{model} {old} → {new}", ["area", "item", "from", "to"], rows)
    print(f"suggested bump: {diff.suggested_bump} ({diff.reason})")
    return 0


def add_commands(subparsers: Any) -> None:
    lineage = subparsers.add_parser(
        "lineage",
        help="a version's lineage, or `lineage diff MODEL A B`",
        description="safeship lineage MODEL VERSION [--format json|mermaid|dot]  |  "
        "safeship lineage MODEL [VERSION] --format svg [--output FILE]  |  "
        "safeship lineage diff MODEL A B [--json]",
    )
    lineage.add_argument("words", nargs="+", metavar="MODEL VERSION | diff MODEL A B")
    lineage.add_argument("--format", choices=["json", "mermaid", "dot", "svg"], default="json")
    lineage.add_argument("--output", metavar="FILE", help="with --format svg: write the SVG here")
    add_json_flag(lineage)
    lineage.set_defaults(handler=_lineage)
