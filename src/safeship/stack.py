"""Start and stop safeship's local stack: Prefect server, gateway, serving process.

``python -m safeship.stack up`` keeps them running until Ctrl-C, then stops them in the right
order (the serving process before the server). ``scripts.demo`` uses the same class.

Ports and the bind address come from the command line (``--prefect-port``, ``--gateway-port``,
``--host``), else the environment (``SAFESHIP_PREFECT_PORT``, ``SAFESHIP_GATEWAY_PORT``,
``SAFESHIP_HOST``), else 4200, 8700 and 127.0.0.1; ``make up PREFECT_PORT=... GATEWAY_PORT=...``
passes them through.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from safeship.config import OFFLINE_ENV, Settings
from safeship.errors import InputError

BIN = Path(sys.executable).parent
ENV_HOST = "SAFESHIP_HOST"
ENV_PREFECT_PORT = "SAFESHIP_PREFECT_PORT"
ENV_GATEWAY_PORT = "SAFESHIP_GATEWAY_PORT"
DEFAULT_PREFECT_PORT = 4200
DEFAULT_GATEWAY_PORT = 8700


def env_port(name: str, default: int) -> int:
    """A port from the environment variable ``name`` (``default`` when unset), checked."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise InputError(f"{name}={raw!r} is not a port: use a number from 1 to 65535")
    return int(raw)


def client_host(host: str) -> str:
    """The address to connect to for a server bound to ``host`` (any-address -> loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


class Stack:
    def __init__(
        self,
        settings: Settings,
        *,
        prefect_port: int = DEFAULT_PREFECT_PORT,
        gateway_port: int = DEFAULT_GATEWAY_PORT,
        dashboard_port: int = 8750,
        project: Path | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.settings = settings
        self.project = project or settings.project_root
        self.host = host
        self.prefect_port = prefect_port
        self.gateway_port = gateway_port
        self.dashboard_port = dashboard_port
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.logs = settings.state_dir / "logs"
        self.env = {
            **os.environ,
            **OFFLINE_ENV,
            "PREFECT_HOME": str(settings.state_dir / "prefect"),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_API_HOST": host,
            "PREFECT_SERVER_API_PORT": str(prefect_port),
            "PREFECT_UI_API_URL": self.api_url,
            "SAFESHIP_HOME": str(settings.state_dir),
            "SAFESHIP_DASHBOARD_URL": self.dashboard_url,
            "SAFESHIP_GATEWAY_URL": self.gateway_url,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        # issue 14: with PREFECT_SERVER_API_AUTH_STRING the server asks for it; the serving
        # process and clients started from here send it; the API answers only its own UI.
        server_auth = os.environ.get("PREFECT_SERVER_API_AUTH_STRING")
        if server_auth:
            self.env.setdefault("PREFECT_API_AUTH_STRING", server_auth)
        own_ui = f"{self.ui_url},http://localhost:{prefect_port}"
        self.env.setdefault("PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS", own_ui)

    @property
    def api_url(self) -> str:
        return f"http://{client_host(self.host)}:{self.prefect_port}/api"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def ui_url(self) -> str:
        return f"http://{client_host(self.host)}:{self.prefect_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{client_host(self.host)}:{self.gateway_port}"

    def check_port_free(self, port: int, what: str) -> None:
        import socket

        host = client_host(self.host)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex((host, port)) == 0:
                raise RuntimeError(
                    f"port {port} for the {what} is already in use on {host}: stop what "
                    "runs there (an earlier `make up`?) or choose another port "
                    f"(make up PREFECT_PORT=... GATEWAY_PORT=..., or {ENV_PREFECT_PORT} / "
                    f"{ENV_GATEWAY_PORT})"
                )

    @staticmethod
    def free_port() -> int:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    def _start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args,
            cwd=self.project,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append((name, process))
        return process

    def _wait_http(self, name: str, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        process = dict(self.processes)[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited early; see {self.logs / (name + '.log')}")
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{name} did not answer at {url} within {timeout:.0f} s")

    def start_server(self) -> None:
        self.check_port_free(self.prefect_port, "Prefect server")
        self._start(
            "prefect-server",
            [
                str(BIN / "prefect"),
                "server",
                "start",
                "--host",
                self.host,
                "--port",
                str(self.prefect_port),
            ],
        )
        self._wait_http("prefect-server", f"{self.api_url}/health", 120)

    def start_gateway(self, *, auth: bool = True) -> bool:
        """``auth=False`` (the embedded demo only) starts it with ``--no-auth``."""
        from safeship.cli import COMMAND_MODULES

        if "gateway" not in COMMAND_MODULES:
            return False
        self.check_port_free(self.gateway_port, "gateway")
        command = [
            str(BIN / "safeship"),
            "gateway",
            "--host",
            self.host,
            "--port",
            str(self.gateway_port),
        ]
        self._start("gateway", command + ([] if auth else ["--no-auth"]))
        self._wait_http("gateway", f"{self.gateway_url}/healthz", 60)
        return True

    def start_dashboard(self) -> None:
        """The status dashboard (``safeship dashboard``), reading this stack's Prefect API."""
        self.check_port_free(self.dashboard_port, "dashboard")
        self._start(
            "dashboard",
            [str(BIN / "safeship"), "dashboard", "--port", str(self.dashboard_port),
             "--prefect-api", self.api_url],
        )  # fmt: skip
        self._wait_http("dashboard", f"{self.dashboard_url}/healthz", 60)

    def start_serving(self, *deployments: str) -> None:
        """Serve the deployments (all of them, or the named ones)."""
        self._start("serving", [sys.executable, "-m", "scripts.serve", *deployments])

    def stop(self) -> None:
        """Serving process first, then the gateway, then the server (STACK_NOTES.md)."""
        for name, process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            print(f"stopped {name}")
        self.processes.clear()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m safeship.stack", description=__doc__)
    parser.add_argument("command", choices=["up"])
    parser.add_argument(
        "--host",
        default=os.environ.get(ENV_HOST, "127.0.0.1"),
        help=f"address the server and gateway bind (${ENV_HOST}, default 127.0.0.1)",
    )
    parser.add_argument(
        "--prefect-port",
        type=int,
        default=None,
        help=f"Prefect server port (${ENV_PREFECT_PORT}, default {DEFAULT_PREFECT_PORT})",
    )
    parser.add_argument(
        "--gateway-port",
        type=int,
        default=None,
        help=f"gateway port (${ENV_GATEWAY_PORT}, default {DEFAULT_GATEWAY_PORT})",
    )
    args = parser.parse_args(argv)
    if args.prefect_port is None:
        args.prefect_port = env_port(ENV_PREFECT_PORT, DEFAULT_PREFECT_PORT)
    if args.gateway_port is None:
        args.gateway_port = env_port(ENV_GATEWAY_PORT, DEFAULT_GATEWAY_PORT)
    for flag, port in (
        ("--prefect-port", args.prefect_port),
        ("--gateway-port", args.gateway_port),
    ):
        if not 1 <= port <= 65535:
            raise InputError(f"{flag} {port} is not a port: use a number from 1 to 65535")
    return args


def up(argv: list[str] | None = None) -> int:
    # Ctrl-C and a plain `kill` both stop the stack in order (even when started from a
    # shell that ignores SIGINT for background jobs)
    try:
        args = parse_args(["up"] if argv is None else argv)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    settings = Settings.from_env()
    stack = Stack(
        settings, prefect_port=args.prefect_port, gateway_port=args.gateway_port, host=args.host
    )
    try:
        stack.start_server()
        gateway = stack.start_gateway()
        stack.start_dashboard()
        stack.start_serving()
        print(
            f"Prefect UI:  {stack.ui_url}  (deployments: release, scheduled-release, rollback, rollback-drill, monitor, rescan)"
        )
        print(
            f"gateway:     {stack.gateway_url}/v1  (needs an API key: `safeship keys create NAME`)"
            if gateway
            else "gateway: not built yet"
        )
        print(f"dashboard:   {stack.dashboard_url}/")
        print(f"logs:        {stack.logs}")
        print("Ctrl-C stops everything.")
        while all(p.poll() is None for _, p in stack.processes):
            time.sleep(1)
        print("a process exited; stopping the stack")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(up(sys.argv[1:]))
