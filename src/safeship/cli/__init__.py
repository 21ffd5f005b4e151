"""The ``safeship`` command line.

Each area has a module here with ``add_commands(subparsers)``; command handlers take the
parsed arguments and return an exit code. Errors from the :mod:`safeship.errors`
hierarchy print one line and exit non-zero; ``--debug`` shows the traceback.
Handlers import heavy libraries inside themselves so ``safeship --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules under safeship.cli that contribute commands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "project",
    "registry",
    "deploy",
    "audit",
    "lineage",
    "generate",
    "safety",
    "gateway",
    "keys",
    "approve",
    "traffic",
    "drill",
    "dashboard",
    "incident",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safeship",
        description="Ship generative-model updates safely: versions, lineage, gates, "
        "approvals, canaries, rollback and a tamper-evident ledger.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"safeship.cli.{name}")
        module.add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    from safeship.errors import SafeshipError

    try:
        code: int = handler(args)
        return code
    except SafeshipError as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
