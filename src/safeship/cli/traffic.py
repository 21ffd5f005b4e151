"""``safeship traffic`` — send real requests to the gateway at a set rate, then summarise."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from safeship.cli.common import add_json_flag
from safeship.cli.output import print_json, print_table


def _traffic(args: argparse.Namespace) -> int:
    from safeship.testing.traffic import DEFAULT_URL, TrafficConfig, load_prompts, run_traffic

    url = args.url or os.environ.get("SAFESHIP_GATEWAY_URL") or DEFAULT_URL
    config = TrafficConfig(
        url=url,
        model=args.model,
        rate=args.rate,
        duration_s=args.duration,
        prompts=load_prompts(Path(args.prompts) if args.prompts else None),
        users=args.users,
        concurrency=args.concurrency,
        max_tokens=args.max_tokens,
        seed=args.seed,
    )
    summary = run_traffic(config).as_dict()
    summary.update(url=url, model=args.model)
    if args.json:
        print_json(summary)
    else:
        rows: list[list[Any]] = [
            [key, ", ".join(f"{k}={v}" for k, v in sorted(value.items())) or "-"]
            if isinstance(value, dict)
            else [key, value]
            for key, value in summary.items()
        ]
        print_table("traffic summary", ["field", "value"], rows)
    return 0 if summary["ok"] > 0 or summary["sent"] == 0 else 1


def add_commands(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "traffic",
        help="send requests to the gateway at a rate, then summarise",
        description="Send /v1/completions requests to a running gateway at --rate "
        "requests/s for --duration seconds from --users callers, then print how many were "
        "answered, which versions and roles answered, and latency p50/p95.",
    )
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to send for")
    parser.add_argument("--prompts", help="file with one prompt per line (default: built in)")
    parser.add_argument("--users", type=int, default=100, help="distinct callers")
    parser.add_argument(
        "--url", help="gateway URL (default: $SAFESHIP_GATEWAY_URL or http://127.0.0.1:8700)"
    )
    parser.add_argument("--model", required=True, help="model name to request")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight at most")
    parser.add_argument("--max-tokens", type=int, default=32, help="max_tokens per request")
    parser.add_argument("--seed", type=int, default=0, help="first request seed")
    add_json_flag(parser)
    parser.set_defaults(handler=_traffic)
