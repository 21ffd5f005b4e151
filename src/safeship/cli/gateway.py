"""``safeship gateway``: serve the registry's deployed versions over the OpenAI API."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from safeship.errors import InputError


def _gateway(args: argparse.Namespace) -> int:
    from safeship.config import Settings, apply_offline_env
    from safeship.gateway import app as gateway_app
    from safeship.gateway.auth import ENV_AUTH, ENV_METRICS_AUTH
    from safeship.gateway.logs import configure
    from safeship.params import load_params

    if args.port is None:
        raw = os.environ.get("SAFESHIP_GATEWAY_PORT", "").strip() or "8700"
        if not raw.isdigit():
            raise InputError(f"SAFESHIP_GATEWAY_PORT={raw!r} is not a port: use 1 to 65535")
        args.port = int(raw)
    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be 0..65535, got {args.port}")
    settings = Settings.from_env()
    load_params(settings.project_root)  # a malformed params.yaml is refused before serving
    apply_offline_env(settings.state_dir)
    configure(args.log_format, args.log_level)
    # Worker processes build their app from the environment: say it there.
    os.environ[gateway_app.ENV_LOG_FORMAT] = args.log_format
    os.environ[gateway_app.ENV_LOG_LEVEL] = args.log_level
    if args.no_request_log:
        os.environ[gateway_app.ENV_NO_REQUEST_LOG] = "1"
    if args.request_log_url:
        os.environ[gateway_app.ENV_REQUEST_LOG_URL] = args.request_log_url
    if args.no_auth:
        os.environ[ENV_AUTH] = "off"
    if args.metrics_auth:
        os.environ[ENV_METRICS_AUTH] = "on"
    _metrics_env(settings.state_dir, args.host, args.port, args.workers)

    import uvicorn

    common: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
    }
    if args.workers > 1:
        uvicorn.run(
            "safeship.gateway.app:app_factory", factory=True, workers=args.workers, **common
        )
    else:
        uvicorn.run(gateway_app.create_app(gateway_app.config_from_env()), **common)
    return 0


def _metrics_env(state_dir: Path, host: str, port: int, workers: int) -> None:
    """A ``replica`` label for /metrics, and with several workers prometheus_client's
    multiprocess mode in a fresh folder (so /metrics adds up every worker)."""
    import shutil

    from safeship.gateway.metrics import ENV_MULTIPROC_DIR, ENV_REPLICA

    os.environ.setdefault(ENV_REPLICA, f"{host}:{port}")
    if workers > 1 and not os.environ.get(ENV_MULTIPROC_DIR):
        folder = state_dir / "metrics" / f"gateway-{port}-{os.getpid()}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        os.environ[ENV_MULTIPROC_DIR] = str(folder)


def add_commands(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gateway",
        help="serve deployed versions over the OpenAI API (routing, canary, shadow, pinning)",
        description="Serve the registry's production, canary and shadow versions at "
        "/v1/completions, /v1/chat/completions and /v1/models, with /healthz and /metrics. "
        "Follows the registry: promotions and rollbacks take effect within a poll interval "
        "(serving.poll_interval_ms in params.yaml).",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("SAFESHIP_HOST") or "127.0.0.1",
        help="address to bind (default $SAFESHIP_HOST, else 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port (default $SAFESHIP_GATEWAY_PORT, else 8700)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (each follows the registry)"
    )
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info"
    )
    parser.add_argument(
        "--no-request-log", action="store_true", help="do not record requests (benchmarks)"
    )
    parser.add_argument(
        "--request-log-url",
        help="database URL of the request log (default: .safeship/requests.db, or the "
        "registry's PostgreSQL database)",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="serve without API keys (embedded demo only; logged loudly). Same as "
        "SAFESHIP_GATEWAY_AUTH=off",
    )
    parser.add_argument(
        "--metrics-auth", action="store_true", help="require an API key for /metrics too"
    )
    parser.set_defaults(handler=_gateway)
