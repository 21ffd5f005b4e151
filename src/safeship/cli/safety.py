"""``scan``, ``gate`` and ``card``: the safety battery, the gate and model cards."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from safeship.cli.common import add_json_flag, open_registry
from safeship.cli.output import print_json, print_table
from safeship.events import EventKind


def _scan(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from safeship.params import load_params
    from safeship.release.steps import run_safety

    with open_registry() as registry:
        params = load_params(registry.settings.project_root)
        out = (
            Path(args.out)
            if args.out
            else (registry.settings.project_root / "reports" / args.model / args.version / "scan")
        )
        existing = registry.profiles.latest(args.model, args.version)
        reason = None if existing is None else (args.reason or "manual rescan")
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task(f"scanning {args.model} {args.version}", total=None)
            outcome = run_safety(
                registry,
                args.model,
                args.version,
                params,
                out,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                amend_reason=reason,
            )
        stored = registry.profiles.require_latest(args.model, args.version)
    metrics = stored.profile.get("metrics") or []
    if args.json:
        print_json({"outcome": outcome.model_dump(), "kind": stored.kind, "metrics": metrics})
    else:
        print_table(
            f"{args.model} {args.version} safety profile ({stored.kind} #{stored.seq})",
            ["metric", "value", "95% interval", "n", "passed"],
            [
                (
                    f"{m['category']}.{m['name']}",
                    f"{m['value']:.4g}",
                    f"[{m['ci_low']:.4g}, {m['ci_high']:.4g}]",
                    m["n"],
                    m.get("passed"),
                )
                for m in metrics
            ],
        )
        print(f"per-output results and profile.json in {out}")
    return 0


def _gate(args: argparse.Namespace) -> int:
    from safeship.params import load_params
    from safeship.release.steps import judge_gate

    with open_registry() as registry:
        params = load_params(registry.settings.project_root)
        result, payload = judge_gate(registry, args.model, args.version, params)
        registry.record(
            EventKind.GATE_EVALUATED,
            actor=args.actor,
            model=args.model,
            version=args.version,
            payload=payload,
        )
        tier, production = result.risk_tier, payload["against"]
    if args.json:
        print_json(result.model_dump(mode="json"))
    else:
        print_table(
            f"gate for {args.model} {args.version} ({tier} tier, against {production or 'nothing'})",
            ["metric", "check", "passed", "message"],
            [(c.metric, c.kind, c.passed, c.message) for c in result.checks],
        )
        print("PASSED" if result.passed else "FAILED: " + "; ".join(result.reasons))
    return 0 if result.passed else 1


def _card(args: argparse.Namespace) -> int:
    from safeship.release.cards import card_data, card_json, card_markdown, release_notes

    with open_registry() as registry:
        data = card_data(registry, args.model, args.version)
        production = registry.deployment(args.model).production
        notes = release_notes(
            registry, args.model, args.version, production if production != args.version else None
        )
    out = Path(args.out) if args.out else Path("reports") / args.model / args.version / "card"
    out.mkdir(parents=True, exist_ok=True)
    (out / "README.md").write_text(card_markdown(data), encoding="utf-8")
    (out / "model_card.json").write_text(card_json(data) + "\n", encoding="utf-8")
    (out / "RELEASE_NOTES.md").write_text(notes, encoding="utf-8")
    print(f"model card: {out / 'README.md'} (+ model_card.json, RELEASE_NOTES.md)")
    return 0


def add_commands(subparsers: Any) -> None:
    scan = subparsers.add_parser("scan", help="run the safety battery on a version")
    scan.add_argument("model")
    scan.add_argument("version")
    scan.add_argument("--reason", help="why (a rescan is appended as an amendment)")
    scan.add_argument("--out", help="folder for outputs.parquet and profile.json")
    add_json_flag(scan)
    scan.set_defaults(handler=_scan)

    gate = subparsers.add_parser("gate", help="judge a version's safety profile (exit 1 on fail)")
    gate.add_argument("model")
    gate.add_argument("version")
    gate.add_argument("--actor", default="safeship-cli")
    add_json_flag(gate)
    gate.set_defaults(handler=_gate)

    card = subparsers.add_parser("card", help="write the model card and release notes")
    card.add_argument("model")
    card.add_argument("version")
    card.add_argument("--out", help="output folder (default reports/MODEL/VERSION/card)")
    card.set_defaults(handler=_card)
