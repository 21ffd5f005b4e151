"""The gateway's follower under faults: a slow load of one model does not delay another
model's rollback; deployment state the ledger does not explain is refused, saying why; the
registry file vanishing keeps the last state serving (degraded) until it returns."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from safeship.models import loader as model_loader
from safeship.registry.store import Registry
from safeship.testing.gateway import (
    ACTOR,
    GatewayServer,
    add_version,
    make_project,
    promote,
    serving_params,
)
from safeship.testing.ngram import train_ngram

SLOW_S = 4.0


def _until(check: Callable[[], object], timeout_s: float = 20.0) -> float:
    """Seconds until ``check()`` holds."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout_s, "condition not reached"
        time.sleep(0.01)
    return time.monotonic() - started


def _stable(server: GatewayServer, model: str) -> str | None:
    routes = server.gateway.snapshot.models.get(model)
    return None if routes is None or routes.stable is None else routes.stable.version


@pytest.fixture
def two_models(tmp_path: Path) -> tuple[Registry, Path]:
    settings = make_project(tmp_path / "project")
    registry = Registry.open(settings)
    o3 = train_ngram(tmp_path / "m" / "o3", 3)
    o4 = train_ngram(tmp_path / "m" / "o4", 4)
    for model in ("a", "b"):
        add_version(registry, model, "1.0.0", o3)
        add_version(registry, model, "1.1.0", o4)
        promote(registry, model, "1.0.0")
    return registry, tmp_path


def test_a_slow_load_of_one_model_does_not_delay_another_models_rollback(
    two_models: tuple[Registry, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    registry, tmp_path = two_models
    slow = train_ngram(tmp_path / "m" / "slow", 3)
    (slow / "SLOW").write_text("this version takes long to load\n", encoding="utf-8")
    add_version(registry, "b", "2.0.0", slow)
    real_load = model_loader.load_generator

    def load_generator(path: Path) -> model_loader.Generator:
        if (path / "SLOW").exists():
            time.sleep(SLOW_S)
        return real_load(path)

    monkeypatch.setattr(model_loader, "load_generator", load_generator)
    server = GatewayServer(registry.settings, serving_params(poll_interval_ms=50), preload=False)
    try:
        promote(registry, "a", "1.1.0")
        server.wait_for("a", "1.1.0")  # a 1.0.0 and 1.1.0 both loaded now
        promote(registry, "b", "2.0.0")  # b's follower load takes SLOW_S
        time.sleep(0.3)  # the slow load is under way
        registry.rollback("a", actor=ACTOR, reason="bad answers")
        lag = _until(lambda: _stable(server, "a") == "1.0.0", timeout_s=SLOW_S + 5)
        print(f"\na's rollback served after {lag * 1000:.0f} ms (b's load takes {SLOW_S} s)")
        assert lag < 1.0, f"a's rollback waited {lag:.2f} s behind b's load"
        assert _stable(server, "b") == "1.0.0"  # b keeps serving while its load runs
        assert server.complete("a").status_code == 200
        _until(lambda: _stable(server, "b") == "2.0.0", timeout_s=SLOW_S + 10)
        assert server.gateway.snapshot.seq == registry.change_counter()
    finally:
        server.close()
        registry.close()


def test_unexplained_deployment_state_is_refused_saying_why(
    two_models: tuple[Registry, Path], caplog: pytest.LogCaptureFixture
) -> None:
    registry, _ = two_models
    server = GatewayServer(registry.settings, serving_params(poll_interval_ms=50), preload=False)
    try:
        server.wait_for("a", "1.0.0")
        with registry.engine.begin() as connection:  # a superuser edits the table
            connection.execute(
                text(
                    "UPDATE deployments SET production_version = '1.1.0' WHERE model_id = "
                    "(SELECT id FROM models WHERE name = 'a')"
                )
            )
        with caplog.at_level(logging.ERROR, logger="safeship.gateway"):
            promote(registry, "b", "1.1.0")  # the next, unrelated, event
            server.wait_for("b", "1.1.0")
            health = server.client.get("/healthz").json()
        assert _stable(server, "a") == "1.0.0"  # still the ledger's production
        assert health["status"] == "degraded"
        why = [p for p in health["problems"] if p.startswith("refused: a:")]
        assert len(why) == 1, health["problems"]
        assert "production '1.1.0'" in why[0] and "deployment.promoted 1.0.0" in why[0]
        assert "production '1.0.0'" in why[0]
        assert str(registry.settings.state_dir) not in str(health)
        logged = [r.getMessage() for r in caplog.records if "does not explain" in r.getMessage()]
        assert len(logged) == 1 and why[0].removeprefix("refused: ") in logged[0]
        with registry.engine.begin() as connection:  # put back: served and healthy again
            connection.execute(
                text(
                    "UPDATE deployments SET production_version = '1.0.0' WHERE model_id = "
                    "(SELECT id FROM models WHERE name = 'a')"
                )
            )
        _until(lambda: server.client.get("/healthz").json()["status"] == "ok", timeout_s=15)
    finally:
        server.close()
        registry.close()


def test_the_registry_file_vanishing_keeps_serving_and_recovers(
    two_models: tuple[Registry, Path],
) -> None:
    registry, _ = two_models
    server = GatewayServer(registry.settings, serving_params(poll_interval_ms=50), preload=False)
    db_file = registry.settings.state_dir / "registry.db"
    away = db_file.with_name("registry.db.away")
    try:
        server.wait_for("a", "1.0.0")
        registry.close()
        db_file.rename(away)
        health = _until_health(server, "degraded")
        assert "registry file missing: serving the last known state" in health["problems"]
        assert str(db_file) not in str(health)
        assert server.complete("a").status_code == 200
        away.rename(db_file)
        _until_health(server, "ok")
        with Registry.open(registry.settings, create=False) as reopened:
            promote(reopened, "a", "1.1.0")
        server.wait_for("a", "1.1.0")  # following again
    finally:
        if away.exists():
            away.rename(db_file)
        server.close()


def _until_health(server: GatewayServer, status: str) -> dict[str, object]:
    found: dict[str, object] = {}

    def reached() -> bool:
        found.update(server.client.get("/healthz").json())
        return found["status"] == status

    _until(reached, timeout_s=15)
    return found
