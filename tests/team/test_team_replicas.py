"""Gateway replicas behind HAProxy, all following one PostgreSQL registry (team mode).

Three ``safeship gateway`` processes and a real HAProxy are started by the shipped
:class:`safeship.team.TeamStack`; a deployment move reaches every replica, and a killed
replica costs no failed request through the load balancer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from safeship.config import Settings
from safeship.registry.store import Registry
from safeship.team import TeamStack
from safeship.testing.gateway import add_version, promote
from safeship.testing.ngram import train_ngram

pytestmark = pytest.mark.slow
MODEL = "team-chat"
PARAMS = "serving:\n  poll_interval_ms: 150\n  request_log:\n    enabled: false\n"


@pytest.fixture
def team(
    tmp_path: Path, pg_url: str, haproxy: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TeamStack, Registry]]:
    from safeship.project import init_project

    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "params.yaml").write_text(PARAMS, encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.delenv("SAFESHIP_HOME", raising=False)
    monkeypatch.setenv("SAFESHIP_DB_URL", pg_url)
    settings = Settings.from_env(root)
    init_project(settings)
    registry = Registry.open(settings)
    for version, order in (("1.0.0", 3), ("1.1.0", 4)):
        add_version(registry, MODEL, version, train_ngram(tmp_path / f"m-{version}", order))
    promote(registry, MODEL, "1.0.0")
    stack = TeamStack(
        settings, prefect_db_url="", replicas=3, gateway_port=TeamStack.free_port(), project=root
    )
    stack.env["SAFESHIP_GATEWAY_AUTH"] = "off"  # API keys are tested elsewhere
    try:
        stack.start_replicas()
        stack.start_balancer()
        yield stack, registry
    finally:
        stack.stop()


def _ask(client: httpx.Client, url: str) -> httpx.Response:
    return client.post(
        f"{url}/v1/completions",
        json={"model": MODEL, "prompt": "How do I boil an egg?", "max_tokens": 4},
    )


def _replica_urls(stack: TeamStack) -> list[str]:
    return [f"http://127.0.0.1:{port}" for port in stack.replica_ports]


def test_balanced_replicas_follow_moves_and_survive_a_dead_replica(
    team: tuple[TeamStack, Registry],
) -> None:
    stack, registry = team
    with httpx.Client(timeout=10) as client:
        answers = [_ask(client, stack.gateway_url) for _ in range(30)]
        assert [r.status_code for r in answers] == [200] * 30
        assert {r.headers["x-safeship-version"] for r in answers} == {"1.0.0"}
        # every replica took a share, and says which replica it is in /metrics
        for url, port in zip(_replica_urls(stack), stack.replica_ports, strict=True):
            text = client.get(f"{url}/metrics").text
            assert f'replica="127.0.0.1:{port}"' in text
            assert 'safeship_gateway_requests_total{endpoint="completions"' in text

        promote(registry, MODEL, "1.1.0")
        moved = time.monotonic()
        for url in _replica_urls(stack):
            while _ask(client, url).headers["x-safeship-version"] != "1.1.0":
                assert time.monotonic() - moved < 5, f"{url} did not follow the promotion"
                time.sleep(0.02)

        # a dead replica: the load balancer retries on the others, nothing fails
        name, dead = next(p for p in stack.processes if p[0] == "gateway-1")
        os.killpg(dead.pid, signal.SIGKILL)
        dead.wait(timeout=10)
        answers = [_ask(client, stack.gateway_url) for _ in range(60)]
        assert [r.status_code for r in answers] == [200] * 60, name
        assert {r.headers["x-safeship-version"] for r in answers} == {"1.1.0"}


def test_team_mode_with_postgresql_down_says_so_without_a_traceback(tmp_path: Path) -> None:
    closed = TeamStack.free_port()
    env = {
        **os.environ,
        "SAFESHIP_HOME": str(tmp_path / "state"),
        "SAFESHIP_DB_URL": f"postgresql://postgres@127.0.0.1:{closed}/registry",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/p",
        "SAFESHIP_DB_ATTEMPTS": "2",
    }
    done = subprocess.run(
        [sys.executable, "-m", "safeship.team", "--gateway-port", str(TeamStack.free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "waiting for the registry database" in done.stderr
    assert "did not answer after 2 attempts" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "state" / "logs").exists()  # nothing was started
