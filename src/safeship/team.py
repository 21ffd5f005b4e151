"""``make up-team``: safeship on the engines a team already runs.

A Prefect server on PostgreSQL (``PREFECT_API_DATABASE_CONNECTION_URL``), the ``process``
work pool ``safeship`` with every deployment of ``prefect.yaml`` (``prefect deploy
--all``), N Prefect workers executing them, and M gateway replicas following the same
PostgreSQL registry (``SAFESHIP_DB_URL``) behind HAProxy on the gateway port. Processes
stop in order on Ctrl-C: workers, load balancer, replicas, server.

This module only starts processes (the ``prefect`` CLI among them): the core never imports
Prefect.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from safeship.config import Settings
from safeship.errors import ConfigError, DatabaseUnavailableError, ExternalToolError, SafeshipError
from safeship.stack import BIN, Stack, client_host, env_port

WORK_POOL = "safeship"
ENV_PREFECT_DB = "PREFECT_API_DATABASE_CONNECTION_URL"
ENV_ATTEMPTS = "SAFESHIP_DB_ATTEMPTS"


def wait_for_database(url: str, what: str, attempts: int = 0, first_delay_s: float = 1.0) -> None:
    """Wait until ``url`` answers, retrying with exponential backoff (1, 2, 4, ... s;
    ``$SAFESHIP_DB_ATTEMPTS`` attempts, default 6: ~30 s); then a one-line error."""
    from sqlalchemy.engine import make_url

    from safeship.registry import db

    raw = os.environ.get(ENV_ATTEMPTS, "").strip() or "6"
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{ENV_ATTEMPTS}={raw!r}: use a whole number of attempts, at least 1")
    attempts = attempts or int(raw)

    plain = url.replace("+asyncpg", "")
    shown = make_url(plain).render_as_string(hide_password=True)
    delay = first_delay_s
    for attempt in range(1, attempts + 1):
        engine = db.make_engine(plain)
        try:
            db.check_connection(engine)
            return
        except DatabaseUnavailableError as error:
            reason = str(error)
            if attempt == attempts:
                raise DatabaseUnavailableError(
                    f"the {what} database {shown} did not answer after {attempts} attempts: "
                    f"{reason}"
                ) from None
            print(
                f"waiting for the {what} database {shown} (attempt {attempt}/{attempts}, "
                f"next in {delay:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(delay)
            delay *= 2
        finally:
            engine.dispose()


class TeamStack(Stack):
    """Prefect server (PostgreSQL) + work pool + workers + gateway replicas + HAProxy."""

    def __init__(
        self,
        settings: Settings,
        *,
        prefect_db_url: str,
        workers: int = 1,
        replicas: int = 3,
        prefect_port: int = 4200,
        gateway_port: int = 8700,
        host: str = "127.0.0.1",
        project: Path | None = None,
    ) -> None:
        super().__init__(
            settings,
            prefect_port=prefect_port,
            gateway_port=gateway_port,
            project=project,
            host=host,
        )
        self.workers = workers
        self.replicas = replicas
        self.replica_ports: list[int] = []
        self.env[ENV_PREFECT_DB] = prefect_db_url
        self.env["SAFESHIP_DB_URL"] = settings.db_url

    def check_databases(self) -> None:
        if self.settings.is_sqlite:
            raise ConfigError(
                "team mode needs the registry on PostgreSQL: set SAFESHIP_DB_URL="
                "postgresql://USER@HOST:5432/DB (every replica and worker must reach it)"
            )
        prefect_db = self.env[ENV_PREFECT_DB]
        if not prefect_db.startswith("postgresql"):
            raise ConfigError(
                f"team mode runs Prefect on PostgreSQL: set {ENV_PREFECT_DB}="
                "postgresql+asyncpg://USER@HOST:5432/DB"
            )
        wait_for_database(self.settings.db_url, "registry")
        wait_for_database(prefect_db, "Prefect")

    def run_once(self, name: str, args: list[str], timeout: float = 300) -> str:
        """A one-shot command in the stack's environment; its output, or a clear error."""
        done = subprocess.run(
            args,
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.logs / f"{name}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise ExternalToolError(f"{name} failed ({' / '.join(tail)}); see {self.logs}")
        return done.stdout

    def deploy(self) -> None:
        """The work pool (created if missing) and every deployment of prefect.yaml."""
        prefect = str(BIN / "prefect")
        pools = self.run_once("work-pool-ls", [prefect, "work-pool", "ls"])
        if WORK_POOL not in pools:
            self.run_once(
                "work-pool-create", [prefect, "work-pool", "create", WORK_POOL, "--type", "process"]
            )
        self.run_once("deploy", [prefect, "--no-prompt", "deploy", "--all"])

    def start_workers(self) -> None:
        for i in range(1, self.workers + 1):
            self._start(
                f"worker-{i}",
                [
                    str(BIN / "prefect"),
                    "worker",
                    "start",
                    "--pool",
                    WORK_POOL,
                    "--type",
                    "process",
                    "--name",
                    f"safeship-worker-{i}",
                ],
            )

    def start_replicas(self) -> None:
        """M gateway processes on free ports, each waiting until it serves."""
        host = client_host(self.host)
        for i in range(1, self.replicas + 1):
            port = self.free_port()
            self.replica_ports.append(port)
            name = f"gateway-{i}"
            self.env["SAFESHIP_REPLICA"] = f"{host}:{port}"
            self._start(
                name, [str(BIN / "safeship"), "gateway", "--host", host, "--port", str(port)]
            )
            self._wait_http(name, f"http://{host}:{port}/healthz", 90)

    def start_balancer(self) -> None:
        from safeship.gateway import balancer

        self.check_port_free(self.gateway_port, "load balancer")
        host = client_host(self.host)
        config = balancer.write_config(
            self.settings.state_dir / "haproxy.cfg",
            balancer.haproxy_config(
                self.host, self.gateway_port, [(host, p) for p in self.replica_ports]
            ),
        )
        balancer.check_config(config)
        self._start("haproxy", balancer.haproxy_command(config))
        self._wait_http("haproxy", f"{self.gateway_url}/healthz", 30)

    def stop(self) -> None:
        """Workers first (they run flows), then the balancer, the replicas, the server."""
        workers = [item for item in self.processes if item[0].startswith("worker-")]
        self.processes = [item for item in self.processes if item not in workers] + workers
        super().stop()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m safeship.team", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SAFESHIP_HOST", "127.0.0.1"))
    parser.add_argument("--prefect-port", type=int, default=None)
    parser.add_argument("--gateway-port", type=int, default=None, help="the load balancer's port")
    parser.add_argument("--workers", type=int, default=1, help="Prefect workers on the pool")
    parser.add_argument("--replicas", type=int, default=3, help="gateway replicas")
    args = parser.parse_args(argv)
    args.prefect_port = args.prefect_port or env_port("SAFESHIP_PREFECT_PORT", 4200)
    args.gateway_port = args.gateway_port or env_port("SAFESHIP_GATEWAY_PORT", 8700)
    if args.workers < 1 or args.replicas < 1:
        raise ConfigError("--workers and --replicas must be at least 1")
    return args


def up_team(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
        settings = Settings.from_env()
        stack = TeamStack(
            settings,
            prefect_db_url=os.environ.get(ENV_PREFECT_DB, ""),
            workers=args.workers,
            replicas=args.replicas,
            prefect_port=args.prefect_port,
            gateway_port=args.gateway_port,
            host=args.host,
        )
        stack.check_databases()
    except SafeshipError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stack.start_server()
        stack.deploy()
        stack.start_workers()
        stack.start_replicas()
        stack.start_balancer()
        print(f"Prefect UI:     {stack.ui_url}  (work pool {WORK_POOL}, {args.workers} worker(s))")
        print(f"gateway (LB):   {stack.gateway_url}/v1  over replicas on {stack.replica_ports}")
        print(f"logs:           {stack.logs}")
        print("Ctrl-C stops everything.")
        while all(p.poll() is None for _, p in stack.processes):
            time.sleep(1)
        print("a process exited; stopping the stack", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except (SafeshipError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(up_team(sys.argv[1:]))
