"""``safeship dashboard``: the status dashboard (web pages on a loopback port, or a static export)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from safeship.errors import InputError

DEFAULT_PORT = 8750


def _dashboard(args: argparse.Namespace) -> int:
    from safeship.config import Settings, apply_offline_env
    from safeship.dashboard.context import Context
    from safeship.params import load_params
    from safeship.prefect_api import api_url

    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be 0..65535, got {args.port}")
    settings = Settings.from_env()
    load_params(settings.project_root)  # a malformed params.yaml is refused before serving
    apply_offline_env(settings.state_dir)
    prefect = None if args.no_prefect else (args.prefect_api or api_url())
    ctx = Context.open(settings, prefect_api=prefect)
    try:
        if args.export:
            from safeship.dashboard.export import export_site

            out = Path(args.export).resolve()
            pages = export_site(ctx, out)
            print(f"dashboard export: {len(pages)} pages in {out} (open {out / 'index.html'})")
            return 0
        import uvicorn

        from safeship.dashboard.app import create_app

        print(f"dashboard: http://{args.host}:{args.port}/", flush=True)
        uvicorn.run(
            create_app(ctx),
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        return 0
    finally:
        ctx.close()


def add_commands(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="the status dashboard: models, health, versions, reviews, lineage, timeline, drills",
        description="Serve the status dashboard on a loopback port (every asset local), or "
        "write the same pages as a static site with --export DIR.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument("--export", metavar="DIR", help="write a static site into DIR and exit")
    parser.add_argument(
        "--prefect-api",
        metavar="URL",
        help="Prefect API for paused runs (default: PREFECT_API_URL or http://127.0.0.1:4200/api)",
    )
    parser.add_argument("--no-prefect", action="store_true", help="do not ask the Prefect API")
    parser.set_defaults(handler=_dashboard)
