"""A staging environment for a drill, isolated from production.

* its own state folder, ``<production state>/staging/<drill-id>/``, holding its own
  SQLite registry, request log and materialised working copies;
* its registry seeded from a **copy** of production's rows (models, versions,
  deployments, safety profiles) read with SQLAlchemy Core from production's database,
  whatever it is; the ledger is not copied: staging's own chain starts with one
  ``drill.seeded`` event;
* the same project root, so versions materialise from the same DVC cache (read only:
  it is content-addressed; drill candidates that are not in it are written straight to
  staging's working copies and never to the cache or the remote);
* its own gateway (uvicorn in a thread) on a free loopback port.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from safeship.errors import ExternalToolError
from safeship.events import EventKind

if TYPE_CHECKING:
    from safeship.config import Settings
    from safeship.gateway.service import Gateway
    from safeship.params import ServingParams
    from safeship.registry.store import Registry

ACTOR = "safeship-drill"
SEEDED_TABLES = ("models", "model_versions", "deployments", "safety_profiles")


def staging_settings(production: Settings, drill_id: str) -> Settings:
    from safeship.config import Settings

    state = production.state_dir / "staging" / drill_id
    return Settings(
        project_root=production.project_root,
        state_dir=state,
        db_url=f"sqlite:///{state / 'registry.db'}",
    )


def seed_staging(production: Registry, settings: Settings, drill_id: str) -> Registry:
    """A fresh staging registry holding a copy of production's rows, plus ``drill.seeded``."""
    from sqlalchemy import select

    from safeship.registry import db, tables
    from safeship.registry.store import Registry

    if settings.state_dir.exists() and any(settings.state_dir.iterdir()):
        raise ExternalToolError(f"staging folder {settings.state_dir} already exists")
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    copied: dict[str, int] = {}
    with db.read_connection(production.engine) as source:
        rows = {
            name: [dict(r) for r in source.execute(select(tables.metadata.tables[name]))
                   .mappings().all()]
            for name in SEEDED_TABLES
        }  # fmt: skip
        head_seq, head_hash = _ledger_head(source)
    staging = Registry.open(settings)
    with db.write_transaction(staging.engine) as target:
        for name in SEEDED_TABLES:
            if rows[name]:
                target.execute(tables.metadata.tables[name].insert(), rows[name])
            copied[name] = len(rows[name])
    staging.record(
        EventKind.DRILL_SEEDED,
        actor=ACTOR,
        payload={
            "drill_id": drill_id,
            "copied_rows": copied,
            "production_db": _redact(production.settings.db_url),
            "production_ledger_seq": head_seq,
            "production_ledger_hash": head_hash,
            "deployments": _seeded_deployments(rows),
        },
    )
    return staging


def _seeded_deployments(rows: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each model's copied deployment pointers: the state the staging ledger explains."""
    names = {row["id"]: row["name"] for row in rows["models"]}
    return {
        names[row["model_id"]]: {
            "production": row["production_version"],
            "canary": row["canary_version"],
            "canary_weight": int(row["canary_weight"] or 0),
            "shadow": row["shadow_version"],
        }
        for row in rows["deployments"]
        if row["model_id"] in names
    }


def _ledger_head(connection: Any) -> tuple[int, str]:
    from safeship import ledger

    seq, digest = ledger.head(connection)
    return int(seq), str(digest)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def drill_serving_params(base: ServingParams) -> ServingParams:
    """Production's serving limits, with a fast follower and request-log flush."""
    return base.model_copy(
        update={
            "poll_interval_ms": min(base.poll_interval_ms, 50),
            "request_log": base.request_log.model_copy(
                update={"enabled": True, "flush_ms": min(base.request_log.flush_ms, 50)}
            ),
        }
    )


@dataclass
class StagingGateway:
    """The gateway app on a uvicorn server in a thread, on a free loopback port."""

    url: str
    gateway: Gateway
    server: Any
    thread: threading.Thread
    sock: socket.socket

    @classmethod
    def start(
        cls, settings: Settings, params: ServingParams, timeout_s: float = 60.0
    ) -> StagingGateway:
        import uvicorn

        from safeship.gateway.app import create_app
        from safeship.gateway.service import GatewayConfig

        # the staging gateway is the drill's own, on loopback, driven by the drill itself
        app = create_app(GatewayConfig(settings=settings, params=params, auth=False))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="drill-gateway", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise ExternalToolError(f"the staging gateway did not start within {timeout_s} s")
            time.sleep(0.02)
        return cls(url=url, gateway=app.state.gateway, server=server, thread=thread, sock=sock)

    def flush_log(self) -> None:
        if self.gateway.requests is not None:
            self.gateway.requests.flush()

    def stop_following(self) -> None:
        """Break the gateway on purpose: it keeps serving its last routing and stops
        following the registry (``break_follow`` drills prove the drill notices)."""
        follower = self.gateway.follower
        follower._stop.set()
        if follower._thread is not None:
            follower._thread.join(timeout=10)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()
