"""``safeship drill`` — a rollback drill against a staging copy of production."""

from __future__ import annotations

import argparse
from typing import Any

from safeship.cli.common import LazyChoices, add_json_flag
from safeship.cli.output import print_json, print_table


def _drill(args: argparse.Namespace) -> int:
    from rich.console import Console

    from safeship.config import Settings, apply_offline_env
    from safeship.drills import DrillOptions, run_drill
    from safeship.params import load_params

    settings = Settings.from_env()
    params = load_params(settings.project_root)
    apply_offline_env(settings.state_dir)
    overrides: dict[str, Any] = {"rate": args.rate, "max_detect_s": args.max_detect}
    if args.steps:
        overrides["steps"] = [int(s) for s in args.steps.split(",")]
    options = DrillOptions(**overrides)
    console = Console(stderr=True)
    with console.status(f"drill {args.scenario} on {args.model} (staging)", spinner="dots"):
        report = run_drill(args.model, args.scenario, settings=settings, params=params,
                           options=options)  # fmt: skip
    if args.json:
        print_json(report.model_dump(mode="json"))
    else:
        rows: list[list[Any]] = [
            ["outcome", report.outcome],
            ["time to detect (s)", report.time_to_detect_s],
            ["time to revert (s)", report.time_to_revert_s],
            ["requests affected", report.requests_affected],
            ["ended safe", report.ended_safe],
            ["detected by", report.detected_by or "-"],
            ["gaps", "; ".join(report.gaps) or "-"],
            ["failures", "; ".join(report.failures) or "-"],
            ["report", report.report_dir],
            ["ledger seq", report.ledger_seq],
        ]
        print_table(f"drill {report.model} {report.scenario}", ["field", "value"], rows)
    return 0 if report.outcome == "passed" else 1


def add_commands(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "drill",
        help="run a rollback drill in a staging copy of production",
        description="Seed a staging environment from production (own registry, request log "
        "and gateway port), put a faulty candidate on canary, drive traffic, and measure "
        "how fast the canary analysis or the monitor detects and reverts it. Writes "
        "reports/drills/<model>/<timestamp>-<scenario>/ and one drill.completed ledger "
        "event in production; exits 1 when the drill failed.",
    )
    parser.add_argument("model", help="model whose production version the drill protects")
    parser.add_argument(
        "--scenario",
        required=True,
        choices=LazyChoices("safeship.drills.scenarios", "SCENARIOS"),
        metavar="SCENARIO",
        help="the fault to inject: %(choices)s",
    )
    parser.add_argument("--rate", type=float, default=40.0, help="traffic, requests/s")
    parser.add_argument("--steps", help="canary weights, comma-separated (default 25,100)")
    parser.add_argument(
        "--max-detect", type=float, default=60.0, help="seconds to wait for detection"
    )
    add_json_flag(parser)
    parser.set_defaults(handler=_drill)
