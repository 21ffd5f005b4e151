"""The request log survives poisoned rows and database outages, and counts what it drops."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from safeship.gateway.requestlog import RequestLog, RequestRecord, hash_user
from tests.reliability.proxy import OutageProxy

POISON = ["\ud800", "a\x00b", "\udfff tail", "ok"]


def _record(i: int, text: str = "fine") -> RequestRecord:
    return RequestRecord(
        request_id=f"r{i}", ts=time.time(), model=f"m{text}", version="1.0.0", role="stable",
        endpoint="completions", user_hash=hash_user(text), prompt=f"p {text}",
        output=f"o {text}", latency_ms=1.0, status=200, error=text,
    )  # fmt: skip


@pytest.mark.parametrize("where", ["sqlite", "postgres"])
def test_poisoned_rows_never_fail_a_batch(
    where: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'requests.db'}"
        if where == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    log = RequestLog(url, batch_size=50, flush_ms=20).start()
    try:
        for i in range(200):
            assert log.submit(_record(i, POISON[i % len(POISON)] if i % 3 == 0 else "fine"))
        assert log.flush(timeout_s=30)
        assert (log.written, log.dropped) == (200, 0)
        stored = log.query("m\ufffd")
        assert len(stored) > 0 and all("\x00" not in p for p in log.query("ma\ufffdb")["prompt"])
    finally:
        log.close()


def test_hash_user_accepts_a_lone_surrogate() -> None:
    assert hash_user("\ud800") != hash_user("\udfff")


def test_outage_is_retried_then_written(pg_url: str) -> None:
    proxy = OutageProxy()
    log = RequestLog(proxy.url(pg_url), batch_size=20, flush_ms=20, retry_s=30).start()
    try:
        assert log.submit(_record(0)) and log.flush(timeout_s=20)
        proxy.down()
        for i in range(1, 41):
            log.submit(_record(i))
        time.sleep(1.5)
        assert log.failing and log.health()["failing"] is True
        proxy.up()
        assert log.flush(timeout_s=30)
        assert log.written == 41 and log.dropped == 0 and log.retries > 0
        assert not log.failing
    finally:
        proxy.down()
        log.close()


def test_outage_beyond_the_retry_window_is_counted(pg_url: str) -> None:
    proxy = OutageProxy()
    log = RequestLog(proxy.url(pg_url), batch_size=10, flush_ms=20, retry_s=0.5).start()
    try:
        assert log.submit(_record(0)) and log.flush(timeout_s=20)
        proxy.down()
        for i in range(1, 11):
            log.submit(_record(i))
        assert log.flush(timeout_s=30)
        health = log.health()
        assert health["dropped"] == 10 and health["failed"] == 10 and health["written"] == 1
    finally:
        proxy.down()
        log.close()
