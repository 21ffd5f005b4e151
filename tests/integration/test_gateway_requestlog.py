"""The request log on SQLite (its own WAL file) and PostgreSQL: batched writes, queries."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from safeship.gateway.requestlog import RequestLog, RequestRecord, hash_user


def _record(i: int, ts: float, role: str = "stable", version: str = "1.0.0") -> RequestRecord:
    return RequestRecord(
        request_id=f"r{i}", ts=ts, model="demo-chat", version=version, role=role,
        endpoint="completions", user_hash=hash_user(f"u{i % 7}"), prompt=f"prompt {i}",
        output="x" * 50, latency_ms=1.5, status=200, prompt_tokens=3, completion_tokens=5,
    )  # fmt: skip


def _exercise(url: str) -> None:
    log = RequestLog(url, batch_size=100, flush_ms=50, max_text_chars=20).start()
    now = time.time()
    try:
        for i in range(450):
            role = "canary" if i % 3 == 0 else "stable"
            assert log.submit(
                _record(i, now - 450 + i, role, "1.1.0" if role == "canary" else "1.0.0")
            )
        assert log.flush(timeout_s=20)
        assert log.written == 450 and log.dropped == 0
        everything = log.query("demo-chat")
        assert len(everything) == 450
        assert list(everything["request_id"][:2]) == ["r0", "r1"]  # ordered by time
        assert everything["time"].dt.tz is not None
        assert everything["output"].str.len().max() == 20  # truncated to max_text_chars
        canary = log.query("demo-chat", role="canary")
        assert len(canary) == 150 and set(canary["version"]) == {"1.1.0"}
        since = datetime.fromtimestamp(now - 100, UTC)
        window = log.query(
            "demo-chat", role="stable", since=since, until=since + timedelta(seconds=50)
        )
        assert len(window) == sum(1 for i in range(350, 400) if i % 3)
        assert log.query("demo-chat", version="1.1.0", since=now - 30).shape[0] == 10
        assert log.query("other-model").empty
    finally:
        log.close()


def test_sqlite_request_log(tmp_path: Path) -> None:
    _exercise(f"sqlite:///{tmp_path / 'requests.db'}")


@pytest.mark.postgres
def test_postgres_request_log(pg_url: str) -> None:
    _exercise(pg_url)


def test_full_queue_drops_and_counts(tmp_path: Path) -> None:
    log = RequestLog(f"sqlite:///{tmp_path / 'requests.db'}", queue_size=5)
    try:  # the writer is not started: the queue fills
        accepted = [log.submit(_record(i, time.time())) for i in range(8)]
        assert accepted == [True] * 5 + [False] * 3 and log.dropped == 3
    finally:
        log.close()


@pytest.mark.postgres
def test_gateway_on_postgres_logs_to_postgres(tmp_path: Path, pg_url: str) -> None:
    """With a PostgreSQL registry the request log is a table in that database."""
    import subprocess

    from safeship.config import Settings
    from safeship.gateway.requestlog import default_url
    from safeship.project import init_project
    from safeship.registry.store import Registry
    from safeship.testing.gateway import GatewayServer, add_version, promote, serving_params
    from safeship.testing.ngram import train_ngram

    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    settings = Settings(project_root=root, state_dir=root / ".safeship", db_url=pg_url)
    init_project(settings)
    with Registry.open(settings) as registry:
        add_version(registry, "demo-chat", "1.0.0", train_ngram(tmp_path / "m" / "o3", 3))
        promote(registry, "demo-chat", "1.0.0")
    assert default_url(settings) == pg_url
    server = GatewayServer(settings, serving_params())
    try:
        r = server.complete("demo-chat", user="pg-user")
        assert r.status_code == 200
        server.gateway.requests.flush()
        frame = server.gateway.requests.query("demo-chat", role="stable")
        assert list(frame["request_id"]) == [r.headers["x-request-id"]]
        assert frame["user_hash"][0] == hash_user("pg-user")
    finally:
        server.close()
