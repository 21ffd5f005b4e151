"""Hostile requests get a 4xx, never a 5xx; health says "degraded" and leaks nothing."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeship.registry.store import Registry
from safeship.testing.gateway import (
    GatewayServer,
    add_version,
    make_project,
    promote,
    serving_params,
)
from safeship.testing.ngram import train_ngram


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayServer]:
    root = tmp_path_factory.mktemp("hostile")
    settings = make_project(root / "project")
    with Registry.open(settings) as registry:
        add_version(registry, "demo-chat", "1.0.0", train_ngram(root / "m" / "o3", 3))
        promote(registry, "demo-chat", "1.0.0")
    server = GatewayServer(settings, serving_params(max_prompt_chars=20_000))
    server.wait_for("demo-chat", "1.0.0")
    yield server
    server.close()


def _post(gw: GatewayServer, raw: bytes, path: str = "/v1/chat/completions") -> int:
    headers = {"content-type": "application/json"}
    return gw.client.post(path, content=raw, headers=headers).status_code


HOSTILE_BODIES: dict[str, bytes] = {
    "invalid utf-8": b'{"model": "demo-chat", "prompt": "\xff\xfe"}',
    "nested 1000": b'{"model": "demo-chat", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    "nested 100000": b"[" * 100_000,
    "nested objects": b'{"a":' * 2000 + b"1" + b"}" * 2000,
    "NaN": b'{"model": "demo-chat", "prompt": "hi", "temperature": NaN}',
    "Infinity": b'{"model": "demo-chat", "prompt": "hi", "max_tokens": Infinity}',
    "surrogate model": b'{"model": "\\ud800", "prompt": "hi"}',
    "NUL model": b'{"model": "demo\\u0000chat", "prompt": "hi"}',
    "traversal model": b'{"model": "../../../etc", "prompt": "hi"}',
    "pin injection": b'{"model": "demo-chat@../../x", "prompt": "hi"}',
    "huge model": json.dumps({"model": "m" * 100_000, "prompt": "hi"}).encode(),
    "not an object": b"[1, 2, 3]",
    "empty": b"",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_BODIES))
@pytest.mark.parametrize("path", ["/v1/completions", "/v1/chat/completions"])
def test_hostile_body_is_a_client_error(gw: GatewayServer, case: str, path: str) -> None:
    status = _post(gw, HOSTILE_BODIES[case], path)
    assert 400 <= status < 500, (case, status)


def test_deep_nesting_is_400(gw: GatewayServer) -> None:
    raw = b'{"model": "demo-chat", "prompt": "hi", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    assert _post(gw, raw, "/v1/completions") == 400


def test_lone_surrogates_are_400_and_nul_is_served_and_logged(gw: GatewayServer) -> None:
    for raw in (
        b'{"model": "demo-chat", "prompt": "hi \\ud800 there", "max_tokens": 3}',
        b'{"model": "demo-chat", "prompt": "hi", "user": "\\udfff"}',
        b'{"model": "\\ud800", "prompt": "hi"}',
    ):
        response = gw.client.post("/v1/completions", content=raw)
        assert response.status_code == 400 and "surrogate" in response.text, raw
    nul = b'{"model": "demo-chat", "user": "a\\u0000b", "messages": [{"role": "user", "content": "a\\u0000b"}]}'
    assert _post(gw, nul) == 200
    assert gw.gateway.requests is not None and gw.gateway.requests.flush(timeout_s=10)
    assert gw.gateway.requests.dropped == 0


def test_ten_thousand_messages_is_not_a_server_error(gw: GatewayServer) -> None:
    body = {"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}] * 10_000}
    assert 200 <= gw.client.post("/v1/chat/completions", json=body).status_code < 500


def test_oversized_chunked_body_is_refused_while_streaming(gw: GatewayServer) -> None:
    """The 413 comes before the body ends (the old code waited for all of it)."""
    host, port = gw.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"a" * 65_536
        for _ in range(40):  # 2.6 MB, well past the limit, and never terminated
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                break
        sock.settimeout(10)
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


def test_health_leaks_nothing(gw: GatewayServer) -> None:
    text = gw.client.get("/healthz").text + gw.client.get("/metrics").text
    body = gw.client.get("/healthz").json()
    assert socket.gethostname() not in text
    assert f":{os.getpid()}" not in text
    assert str(gw.gateway.config.settings.state_dir) not in text
    assert len(body["replica"]) == 12
    assert body["request_log"]["dropped"] == 0


def test_missing_registry_file_is_degraded(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "project")
    with Registry.open(settings) as registry:
        add_version(registry, "demo-chat", "1.0.0", train_ngram(tmp_path / "m" / "o3", 3))
        promote(registry, "demo-chat", "1.0.0")
    server = GatewayServer(settings, serving_params())
    try:
        server.wait_for("demo-chat", "1.0.0")
        assert server.client.get("/healthz").json()["status"] == "ok"
        (settings.state_dir / "registry.db").unlink()
        deadline = time.monotonic() + 10
        while server.client.get("/healthz").json()["status"] != "degraded":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        body = server.client.get("/healthz").json()
        assert any("registry" in p for p in body["problems"])
        assert str(settings.state_dir) not in json.dumps(body)
        assert server.complete("demo-chat").status_code == 200  # the last known state
    finally:
        server.close()
