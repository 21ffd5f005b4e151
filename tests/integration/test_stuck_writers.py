"""A stuck writer gives a clear, retryable error; a rejected version is never promoted."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.errors import InputError, InvalidTransitionError, RegistryBusyError
from safeship.registry import db
from safeship.registry.registration import register
from safeship.registry.store import Registry
from tests.helpers import make_artifact
from tests.reliability.support import snapshot


def _rejected(registry: Registry, tmp_path: Path) -> None:
    register(registry, model="m", path=make_artifact(tmp_path / "a"), version="1.0.0", author="a")
    registry.move_status("m", "1.0.0", "rejected", actor="rev", reason="unsafe")


def test_force_does_not_revive_a_rejected_version(registry: Registry, tmp_path: Path) -> None:
    _rejected(registry, tmp_path)
    before = snapshot(registry)
    with pytest.raises(InvalidTransitionError, match="rejected: a rejected version is never"):
        registry.promote("m", "1.0.0", actor="ops", force=True, reason="please")
    assert snapshot(registry) == before
    assert registry.deployment("m").production is None


def test_lock_held_too_long_is_a_clear_retryable_error(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFESHIP_DB_LOCK_TIMEOUT_S", "1")
    holder, waiter = Registry.open(settings), Registry.open(settings)
    try:
        register(holder, model="m", path=make_artifact(tmp_path / "a"), version="1.0.0")
        before = snapshot(holder)
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with db.write_transaction(holder.engine):
                held.set()
                release.wait(30)

        thread = threading.Thread(target=hold)
        thread.start()
        try:
            assert held.wait(30)
            with pytest.raises(RegistryBusyError, match="busy for more than 1 s") as caught:
                waiter.record("note", actor="x", model="m", version="1.0.0", payload={})
        finally:
            release.set()
            thread.join()
        message = str(caught.value)
        assert "retry" in message and "database is locked" not in message
        assert caught.value.exit_code == 9
        assert snapshot(holder) == before
        waiter.record("note", actor="x", model="m", version="1.0.0", payload={})  # retry works
    finally:
        holder.close()
        waiter.close()


def test_bad_lock_timeout_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFESHIP_DB_LOCK_TIMEOUT_S", "soon")
    with pytest.raises(InputError, match="SAFESHIP_DB_LOCK_TIMEOUT_S"):
        db.make_engine("sqlite:///:memory:")
