"""``safeship keys``: gateway API keys (create, list, revoke, pin)."""

from __future__ import annotations

import argparse
from typing import Any

from safeship.cli.common import add_json_flag, open_registry
from safeship.cli.output import print_json, print_table


def _actor(args: argparse.Namespace) -> str:
    import getpass  # 14 ms at import: only when no --as is given

    return str(args.actor or getpass.getuser())


def _create(args: argparse.Namespace) -> int:
    from safeship.registry.apikeys import KeyStore

    with open_registry() as registry:
        key, secret, event = KeyStore(registry).create(
            args.name, scope=args.scope, pin=args.pin, actor=_actor(args)
        )
    if args.json:
        print_json({**key.as_dict(), "key": secret, "ledger_seq": event.seq})
    else:
        pin = f", pinned to {key.pin}" if key.pin else ""
        print(f"created API key {key.name} (scopes: {', '.join(key.scopes)}{pin})")
        print(f"key (shown once, store it now): {secret}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from safeship.registry.apikeys import KeyStore

    with open_registry() as registry:
        keys = KeyStore(registry).list()
    if args.json:
        print_json([k.as_dict() for k in keys])
    else:
        rows = [
            (k.name, k.prefix + "...", ",".join(k.scopes), k.pin or "-", k.created_at,
             k.created_by, k.revoked_at or "-")
            for k in keys
        ]  # fmt: skip
        columns = ["name", "prefix", "scopes", "pin", "created", "by", "revoked"]
        print_table("gateway API keys", columns, rows)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from safeship.registry.apikeys import KeyStore

    with open_registry() as registry:
        event = KeyStore(registry).revoke(args.name, actor=_actor(args))
    print(f"revoked API key {args.name} (ledger seq {event.seq}); gateways drop it within a poll")
    return 0


def _pin(args: argparse.Namespace) -> int:
    from safeship.registry.apikeys import KeyStore

    with open_registry() as registry:
        event = KeyStore(registry).pin(args.name, args.target, actor=_actor(args))
    print(
        f"API key {args.name} now pinned to {args.target} (ledger seq {event.seq}): honoured "
        "while that version is deployable"
    )
    return 0


def add_commands(subparsers: Any) -> None:
    keys = subparsers.add_parser(
        "keys",
        help="gateway API keys: create, list, revoke, pin",
        description="Keys for the gateway's 'Authorization: Bearer ...' header. Only hashes "
        "are stored in the registry; every change is a ledger event.",
    )
    sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)

    create = sub.add_parser("create", help="create a key (the secret is printed once)")
    create.add_argument("name")
    create.add_argument(
        "--scope",
        choices=("infer", "pin"),
        default="infer",
        help="infer: call models; pin: also choose a version (default infer)",
    )
    create.add_argument("--pin", metavar="MODEL@VERSION", help="opt this key out of new versions")
    create.add_argument("--actor", help="who creates it (default: the OS user)")
    add_json_flag(create)
    create.set_defaults(handler=_create)

    listing = sub.add_parser("list", help="keys, scopes, pins and revocations")
    add_json_flag(listing)
    listing.set_defaults(handler=_list)

    revoke = sub.add_parser("revoke", help="revoke a key")
    revoke.add_argument("name")
    revoke.add_argument("--actor", help="who revokes it (default: the OS user)")
    revoke.set_defaults(handler=_revoke)

    pin = sub.add_parser("pin", help="pin a key (with pin scope) to MODEL@VERSION")
    pin.add_argument("name")
    pin.add_argument("target", metavar="MODEL@VERSION")
    pin.add_argument("--actor", help="who pins it (default: the OS user)")
    pin.set_defaults(handler=_pin)
