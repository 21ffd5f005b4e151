"""LISTEN/NOTIFY on PostgreSQL: the gateway follows a deployment move without polling."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.gateway.notify import NotifyWaiter
from safeship.registry.store import Registry
from safeship.testing.gateway import GatewayServer, add_version, promote, serving_params
from safeship.testing.ngram import train_ngram

MODEL = "notify-chat"


@pytest.fixture
def world(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Registry:
    import subprocess

    from safeship.project import init_project

    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    monkeypatch.chdir(root)
    monkeypatch.delenv("SAFESHIP_HOME", raising=False)
    monkeypatch.setenv("SAFESHIP_DB_URL", pg_url)
    settings = Settings.from_env(root)
    init_project(settings)
    registry = Registry.open(settings)
    for version, order in (("1.0.0", 3), ("1.1.0", 4)):
        add_version(registry, MODEL, version, train_ngram(tmp_path / f"m-{version}", order))
    promote(registry, MODEL, "1.0.0")
    return registry


def _serving(gw: GatewayServer, version: str, timeout_s: float) -> float:
    started = time.monotonic()
    gw.wait_for(MODEL, version, timeout_s=timeout_s)
    return time.monotonic() - started


def test_a_move_is_followed_by_notification_not_by_polling(world: Registry) -> None:
    # polling once a minute: only the notification can make the gateway follow in time
    gw = GatewayServer(world.settings, serving_params(poll_interval_ms=60_000))
    try:
        gw.wait_for(MODEL, "1.0.0")
        waiter = gw.gateway.follower.waiter
        deadline = time.monotonic() + 10
        while not (isinstance(waiter, NotifyWaiter) and waiter.listening):
            assert time.monotonic() < deadline, "the follower never started listening"
            time.sleep(0.05)
            waiter = gw.gateway.follower.waiter
        promote(world, MODEL, "1.1.0")
        assert _serving(gw, "1.1.0", timeout_s=3) < 3
        assert waiter.notifications >= 1
        world.rollback(MODEL, actor="tester", reason="notify test")
        assert _serving(gw, "1.0.0", timeout_s=3) < 3
    finally:
        gw.close()


def test_a_lost_listen_connection_is_reopened(world: Registry) -> None:
    import psycopg

    gw = GatewayServer(world.settings, serving_params(poll_interval_ms=60_000))
    try:
        gw.wait_for(MODEL, "1.0.0")
        waiter = gw.gateway.follower.waiter
        assert isinstance(waiter, NotifyWaiter)
        deadline = time.monotonic() + 10
        while not waiter.listening:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pid = waiter._connection.info.backend_pid
        url = world.settings.db_url
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # the follower notices, reconnects (backoff 1 s) and looks again; then follows moves
        deadline = time.monotonic() + 15
        while not (waiter.listening and waiter._connection.info.backend_pid != pid):
            assert time.monotonic() < deadline, "the LISTEN connection was not reopened"
            time.sleep(0.1)
        promote(world, MODEL, "1.1.0")
        assert _serving(gw, "1.1.0", timeout_s=3) < 3
    finally:
        gw.close()
