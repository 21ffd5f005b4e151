"""One Prefect test server per session, and a built demo project shared by flow tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.flows.support import make_keys
from tests.helpers import make_pipeline_copy, repro


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    os.environ.setdefault("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo pipeline reproduced once (clean corpus) in a git project."""
    root = tmp_path_factory.mktemp("demo-project")
    env = make_pipeline_copy(root)
    done = repro(root, env)
    assert done.returncode == 0, done.stdout + done.stderr
    for args in (
        ["add", "-A"],
        ["-c", "user.email=t@x", "-c", "user.name=t", "commit", "-qm", "demo"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return root


@pytest.fixture
def release_project(
    built_demo: Path, prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The built demo as working directory, a fresh registry, params restored afterwards."""
    from safeship.config import Settings
    from safeship.project import init_project

    params = built_demo / "params.yaml"
    saved = params.read_text()
    signers = built_demo / ".allowed_signers"
    signers.write_text(make_keys(tmp_path / "keys"))
    monkeypatch.setenv("SAFESHIP_TEST_KEYS", str(tmp_path / "keys"))
    monkeypatch.chdir(built_demo)
    monkeypatch.setenv("SAFESHIP_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("SAFESHIP_DB_URL", raising=False)
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    init_project(Settings.from_env())
    yield built_demo
    params.write_text(saved)
    signers.unlink(missing_ok=True)
    (built_demo / ".revoked_signers").unlink(missing_ok=True)
    shutil.rmtree(built_demo / "reports" / "demo-chat", ignore_errors=True)
