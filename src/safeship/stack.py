"""Start and stop safeship's local stack: Prefect server, gateway, serving process.

``python -m safeship.stack up`` keeps them running until Ctrl-C, then stops them in the right
order (the serving process before the server). ``scripts.demo`` uses the same class.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from safeship.config import OFFLINE_ENV, Settings

BIN = Path(sys.executable).parent


class Stack:
    def __init__(
        self,
        settings: Settings,
        *,
        prefect_port: int = 4200,
        gateway_port: int = 8700,
        project: Path | None = None,
    ) -> None:
        self.settings = settings
        self.project = project or settings.project_root
        self.prefect_port = prefect_port
        self.gateway_port = gateway_port
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.logs = settings.state_dir / "logs"
        self.env = {
            **os.environ,
            **OFFLINE_ENV,
            "PREFECT_HOME": str(settings.state_dir / "prefect"),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(prefect_port),
            "PREFECT_UI_API_URL": self.api_url,
            "SAFESHIP_HOME": str(settings.state_dir),
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
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}"

    @staticmethod
    def check_port_free(port: int, what: str) -> None:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise RuntimeError(
                    f"port {port} for the {what} is already in use on 127.0.0.1: stop what "
                    "runs there (an earlier `make up`?) or choose another port"
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
                "127.0.0.1",
                "--port",
                str(self.prefect_port),
            ],
        )
        self._wait_http("prefect-server", f"{self.api_url}/health", 120)

    def start_gateway(self) -> bool:
        from safeship.cli import COMMAND_MODULES

        if "gateway" not in COMMAND_MODULES:
            return False
        self.check_port_free(self.gateway_port, "gateway")
        self._start("gateway", [str(BIN / "safeship"), "gateway", "--port", str(self.gateway_port)])
        self._wait_http("gateway", f"http://127.0.0.1:{self.gateway_port}/healthz", 60)
        return True

    def start_serving(self) -> None:
        self._start("serving", [sys.executable, "-m", "scripts.serve"])

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


def up() -> int:
    # Ctrl-C and a plain `kill` both stop the stack in order (even when started from a
    # shell that ignores SIGINT for background jobs)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    settings = Settings.from_env()
    stack = Stack(settings)
    try:
        stack.start_server()
        gateway = stack.start_gateway()
        stack.start_serving()
        print(
            f"Prefect UI:  {stack.ui_url}  (deployments: release, scheduled-release, rollback, rollback-drill, monitor, rescan)"
        )
        print(
            f"gateway:     http://127.0.0.1:{stack.gateway_port}/v1"
            if gateway
            else "gateway: not built yet"
        )
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
    sys.exit(up() if sys.argv[1:] == ["up"] else 2)
