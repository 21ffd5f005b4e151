"""``audit log``, ``audit verify`` and ``audit history``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from safeship.cli.common import add_json_flag, open_registry, parse_time
from safeship.cli.output import print_json, print_table


def _log(args: argparse.Namespace) -> int:
    with open_registry() as registry:
        events = registry.events(model=args.model, limit=args.limit)
    if args.json:
        print_json([e.to_dict() for e in events])
    else:
        print_table(
            "audit ledger",
            ["seq", "time", "actor", "kind", "model", "version", "payload", "hash"],
            [
                (
                    e.seq,
                    e.time,
                    e.actor,
                    e.kind,
                    e.model,
                    e.version,
                    json.dumps(e.payload, sort_keys=True)[:80],
                    e.hash[:12],
                )
                for e in events
            ],
        )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from safeship.monitoring.consistency import require_consistent

    with open_registry() as registry:
        result = registry.verify_ledger()
        require_consistent(registry)  # deployment state and manifests vs the ledger
    if args.json:
        print_json({"ok": True, "events": result.count, "head_hash": result.head_hash})
    else:
        print(f"audit ledger intact: {result.count} events, head {result.head_hash}")
    return 0


def _history(args: argparse.Namespace) -> int:
    from safeship.ledger import utc_now

    moment = parse_time(args.at) if args.at else utc_now()
    with open_registry() as registry:
        point = registry.history_at(args.model, moment)
    if args.json:
        print_json(point.model_dump())
    else:
        print_table(
            f"{args.model} at {point.at}",
            ["production", "canary", "weight", "shadow", "as of ledger seq"],
            [(point.production, point.canary, point.canary_weight, point.shadow, point.as_of_seq)],
        )
    return 0


def add_commands(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="the tamper-evident audit ledger")
    sub = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)

    log = sub.add_parser("log", help="list ledger events")
    log.add_argument("--model")
    log.add_argument("--limit", type=int, help="only the last N events")
    add_json_flag(log)
    log.set_defaults(handler=_log)

    verify = sub.add_parser("verify", help="recompute the hash chain")
    add_json_flag(verify)
    verify.set_defaults(handler=_verify)

    history = sub.add_parser("history", help="what was production/canary/shadow at a time")
    history.add_argument("model")
    history.add_argument("--at", help="ISO-8601 time (default: now)")
    add_json_flag(history)
    history.set_defaults(handler=_history)
