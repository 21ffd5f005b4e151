"""``safeship approve RUN_ID --as NAME [--reject] [--comment TEXT]``."""

from __future__ import annotations

import argparse
from typing import Any

from safeship.cli.common import add_json_flag
from safeship.cli.output import print_json


def _approve(args: argparse.Namespace) -> int:
    from safeship.prefect_api import resume_with_input

    run_input = {
        "approver": args.approver,
        "decision": "reject" if args.reject else "approve",
        "comment": args.comment or "",
    }
    result = resume_with_input(args.run_id, run_input)
    if args.json:
        print_json({"run_id": args.run_id, "input": run_input, "status": result.get("status")})
    else:
        print(
            f"sent {run_input['decision']} from {args.approver} to run {args.run_id}; the run "
            "checks the approver and the hashes they saw, and records the outcome in the ledger"
        )
    return 0


def add_commands(subparsers: Any) -> None:
    approve = subparsers.add_parser(
        "approve", help="approve (or reject) a paused release run, as the Prefect UI form does"
    )
    approve.add_argument("run_id")
    approve.add_argument("--as", dest="approver", required=True, help="your approver name")
    approve.add_argument("--reject", action="store_true")
    approve.add_argument("--comment")
    add_json_flag(approve)
    approve.set_defaults(handler=_approve)
