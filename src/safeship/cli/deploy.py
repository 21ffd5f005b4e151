"""``promote``, ``rollback`` and ``status``."""

from __future__ import annotations

import argparse
from typing import Any

from safeship.cli.common import add_json_flag, open_registry
from safeship.cli.output import print_json, print_table


def _signature(args: argparse.Namespace, action: str, fields: dict[str, Any]) -> str | None:
    """The person's signed statement for this move (None without --key and without
    SAFESHIP_SIGNING_KEY: the registry then refuses it when roles are enforced)."""
    import os

    from safeship.access.roles import is_service
    from safeship.access.signatures import SigningKey, read_key_env, statement
    from safeship.errors import InputError

    if is_service(args.actor):
        raise InputError(
            f"{args.actor!r}: names starting 'safeship-' are reserved for safeship's own automation; "
            "act as yourself (--as NAME)"
        )
    if args.key is None and not os.environ.get("SAFESHIP_SIGNING_KEY"):
        return None
    key = SigningKey.load(read_key_env(args.key))
    return key.sign(statement(action, args.actor, **fields))


def _promote(args: argparse.Namespace) -> int:
    from safeship.access.roles import move_fields

    fields = move_fields(args.model, args.version, args.reason, args.force)
    signature = _signature(args, "promote", fields)
    with open_registry() as registry:
        event = registry.promote(
            args.model,
            args.version,
            actor=args.actor,
            force=args.force,
            reason=args.reason,
            signature=signature,
        )
    if args.json:
        print_json(event.to_dict())
    else:
        forced = " (forced)" if args.force else ""
        previous = event.payload.get("from_version") or "none"
        print(f"{args.model}: production is now {args.version}{forced} (was {previous})")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from safeship.access.roles import move_fields

    signature = _signature(args, "rollback", move_fields(args.model, args.to, args.reason))
    with open_registry() as registry:
        event = registry.rollback(
            args.model, actor=args.actor, reason=args.reason, to=args.to, signature=signature
        )
    if args.json:
        print_json(event.to_dict())
    else:
        print(
            f"{args.model}: rolled back from {event.payload['from_version']} to {event.version}; "
            f"{event.payload['from_version']} is now rejected"
        )
    return 0


def _status(args: argparse.Namespace) -> int:
    with open_registry(read_only=True) as registry:
        names = [args.model] if args.model else [m.name for m in registry.models()]
        states = [registry.deployment(name) for name in names]
    if args.json:
        print_json([s.model_dump() for s in states])
    else:
        print_table(
            "deployment state",
            ["model", "production", "canary", "weight", "shadow", "updated"],
            [
                (s.model, s.production, s.canary, s.canary_weight, s.shadow, s.updated_at)
                for s in states
            ],
        )
    return 0


def _add_actor(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--as", "--actor", dest="actor", required=True, help=help_text)
    parser.add_argument(
        "--key",
        help="your ed25519 private key to sign the move (default: $SAFESHIP_SIGNING_KEY)",
    )


def add_commands(subparsers: Any) -> None:
    promote = subparsers.add_parser("promote", help="make an approved version production")
    promote.add_argument("model")
    promote.add_argument("version")
    _add_actor(promote, "who is promoting (needs the promote role)")
    promote.add_argument(
        "--force",
        action="store_true",
        help="break-glass: promote a version not approved (needs the force role)",
    )
    promote.add_argument("--reason", help="why (required with --force; it is signed)")
    add_json_flag(promote)
    promote.set_defaults(handler=_promote)

    rollback = subparsers.add_parser("rollback", help="return production to an earlier version")
    rollback.add_argument("model")
    rollback.add_argument("--to", help="target version (default: the previous production)")
    _add_actor(rollback, "who is rolling back (needs the rollback role)")
    rollback.add_argument("--reason", required=True)
    add_json_flag(rollback)
    rollback.set_defaults(handler=_rollback)

    status = subparsers.add_parser("status", help="production, canary and shadow per model")
    status.add_argument("model", nargs="?")
    add_json_flag(status)
    status.set_defaults(handler=_status)
