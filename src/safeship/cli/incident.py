"""``safeship incident list | note ID TEXT | resolve ID --fixed-in VERSION``."""

from __future__ import annotations

import argparse
from typing import Any

from safeship.cli.common import add_json_flag, open_registry
from safeship.cli.output import print_json, print_table


def _list(args: argparse.Namespace) -> int:
    from safeship.incidents import list_incidents, sync

    with open_registry() as registry:
        sync(registry)  # open incidents for triggers recorded since the last look
        found = list_incidents(registry, model=args.model, status=args.status)
    if args.json:
        print_json([i.model_dump() for i in found])
        return 0
    rows = [
        (str(i.id), i.status, i.model or "-", i.trigger, ", ".join(i.versions), i.opened_at[:19],
         i.fixed_in or "-", i.title[:70])
        for i in found
    ]  # fmt: skip
    print_table("incidents", ["id", "status", "model", "trigger", "versions", "opened",
                              "fixed in", "what fired"], rows)  # fmt: skip
    return 0


def _note(args: argparse.Namespace) -> int:
    from safeship.incidents import note

    with open_registry() as registry:
        incident = note(registry, args.id, args.text, author=args.actor)
    print(f"incident {incident.id}: {len(incident.notes)} note(s)")
    return 0


def _resolve(args: argparse.Namespace) -> int:
    from safeship.incidents import resolve

    with open_registry() as registry:
        incident = resolve(registry, args.id, fixed_in=args.fixed_in, author=args.actor,
                           text=args.note)  # fmt: skip
    print(f"incident {incident.id} resolved, fixed in {incident.fixed_in}")
    return 0


def add_commands(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "incident",
        help="incidents opened by automatic rollbacks, failed drills and monitor alerts",
        description="safeship incident list [--model M] [--status open|resolved] [--json] | "
        "note ID TEXT --as NAME | resolve ID --fixed-in VERSION --as NAME [--note TEXT]",
    )
    commands = parser.add_subparsers(
        dest="incident_command", metavar="list|note|resolve", required=True
    )
    listing = commands.add_parser("list", help="incidents, newest first (opens new ones first)")
    listing.add_argument("--model")
    listing.add_argument("--status", choices=["open", "resolved"])
    add_json_flag(listing)
    listing.set_defaults(handler=_list)
    noting = commands.add_parser("note", help="record what was learnt")
    noting.add_argument("id", type=int)
    noting.add_argument("text")
    noting.add_argument("--as", dest="actor", required=True, help="your name")
    noting.set_defaults(handler=_note)
    resolving = commands.add_parser("resolve", help="close an incident with the fixing version")
    resolving.add_argument("id", type=int)
    resolving.add_argument("--fixed-in", required=True, metavar="VERSION")
    resolving.add_argument("--as", dest="actor", required=True, help="your name")
    resolving.add_argument("--note", help="what was learnt")
    resolving.set_defaults(handler=_resolve)
