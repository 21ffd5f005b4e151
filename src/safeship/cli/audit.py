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
            ["seq", "time", "actor", "signed", "kind", "model", "version", "payload", "hash"],
            [
                (
                    e.seq,
                    e.time,
                    e.actor,
                    (e.actor_key or "unsigned")[:19],
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
        report = registry.verify_checkpoints() if args.checkpoints else None
    data: dict[str, Any] = {
        "ok": True,
        "events": result.count,
        "head_hash": result.head_hash,
        "signed": result.signed,
        "unsigned": result.unsigned,
    }
    if report is not None:
        data["checkpoints"] = {"checked": report.checked, "latest_seq": report.latest_seq}
    if args.json:
        print_json(data)
        return 0
    print(
        f"audit ledger intact: {result.count} events, head {result.head_hash}; "
        f"{result.signed} signatures re-verified, {result.unsigned} unsigned (legacy events, "
        "and steps covered only by the chain and checkpoints)"
    )
    if report is not None:
        print(
            f"checkpoints: {report.checked} signed checkpoints in {report.location} agree "
            f"(latest at seq {report.latest_seq})"
        )
    return 0


def _checkpoint(args: argparse.Namespace) -> int:
    with open_registry() as registry:
        path = registry.checkpoint(args.reason)
    print(path)
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

    verify = sub.add_parser("verify", help="recompute the hash chain and re-verify every signature")
    verify.add_argument(
        "--checkpoints",
        action="store_true",
        help="also check the signed checkpoints on the DVC remote (truncation, rewrites)",
    )
    add_json_flag(verify)
    verify.set_defaults(handler=_verify)

    checkpoint = sub.add_parser(
        "checkpoint", help="write a service-signed checkpoint of the ledger head to the remote"
    )
    checkpoint.add_argument("--reason", default="manual")
    checkpoint.set_defaults(handler=_checkpoint)

    history = sub.add_parser("history", help="what was production/canary/shadow at a time")
    history.add_argument("model")
    history.add_argument("--at", help="ISO-8601 time (default: now)")
    add_json_flag(history)
    history.set_defaults(handler=_history)
