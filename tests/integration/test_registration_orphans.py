"""A registration killed mid-copy leaves temporary files in the DVC cache and remote; the
next registration removes them — never those of a registration still running."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.project import init_project
from safeship.registry.orphans import clean_orphans, is_temporary, registration_marker
from safeship.registry.registration import register
from safeship.registry.store import Registry
from tests.reliability.support import cli_env, random_artifact, start

ARTIFACT_BYTES = 64 * 1024 * 1024


def _temporary(stores: list[Path]) -> list[Path]:
    return [p for s in stores if s.is_dir() for p in s.rglob("*") if is_temporary(p.name)]


def test_only_files_older_than_a_running_registration_are_removed(tmp_path: Path) -> None:
    state, store = tmp_path / "state", tmp_path / "cache"
    (store / "ab").mkdir(parents=True)
    (state / "registrations").mkdir(parents=True)
    old = store / "ab" / ".tmp-old"
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 60, time.time() - 60))
    (state / "registrations" / "dead.active").write_text("")  # nobody holds its lock
    with registration_marker(state):  # a registration running now...
        young = store / "ab" / "cd.a1b2.tmp"  # ...is writing this one
        young.write_bytes(b"y")
        assert clean_orphans(state, lambda: [store]) == 1
        assert not old.exists() and young.exists()
        assert not (state / "registrations" / "dead.active").exists()
    assert clean_orphans(state, lambda: [store]) == 0  # no dead marker: nothing scanned
    assert list((state / "registrations").iterdir()) == []


@pytest.mark.slow
def test_next_registration_removes_what_a_killed_one_left(project: Path) -> None:
    settings = Settings.from_env(project)
    init_project(settings)
    stores = [project / ".dvc" / "cache", settings.dvc_remote_dir]
    rng = random.Random(7)
    env = cli_env(settings.db_url)
    left: list[Path] = []
    for attempt in range(3):  # a kill that misses the copy is retried
        artifact = random_artifact(project / "in" / str(attempt), ARTIFACT_BYTES, rng)
        process = start(project, env, "register", "m", str(artifact), "--version", f"1.0.{attempt}")
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if _temporary(stores):
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        process.communicate(timeout=60)
        left = _temporary(stores)
        if left:
            break
    assert left, "the kill never landed during a copy"
    with Registry.open(settings, create=False) as registry:
        small = random_artifact(project / "in" / "next", 4096, rng)
        register(registry, model="m", path=small, version="2.0.0", author="ann")
    assert _temporary(stores) == []
    assert list((settings.state_dir / "registrations").iterdir()) == []
