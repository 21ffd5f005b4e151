"""The gateway on a real uvicorn server in front of a real registry and real versions.

Versions are the demo n-gram model trained here (and, for upstream failures, the openai
adapter pointing at a loopback OpenAI-compatible server). Clients are the official
``openai`` package and httpx.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from safeship.config import Settings
from safeship.gateway.metrics import replica_name
from safeship.gateway.routing import bucket
from safeship.registry.registration import artifact_dir
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
from safeship.testing.upstream import FakeUpstream, openai_candidate_dir

PROMPT = "How do I make a simple tomato soup?"


class World:
    def __init__(self, settings: Settings, registry: Registry, upstream: FakeUpstream,
                 models: dict[str, Path]) -> None:  # fmt: skip
        self.settings, self.registry, self.upstream, self.models = (
            settings,
            registry,
            upstream,
            models,
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("gateway")
    settings = make_project(base / "project")
    candidates = base / "candidates"
    models = {f"o{order}": train_ngram(candidates / f"o{order}", order) for order in (3, 4, 5, 6)}
    upstream = FakeUpstream(slow_s=2.5, echo="upstream says: ")
    models["up"] = openai_candidate_dir(candidates / "up", upstream.url())
    models["slow"] = openai_candidate_dir(candidates / "slow", upstream.url("/slow"))
    registry = Registry.open(settings)
    add_version(registry, "demo-chat", "1.0.0", models["o3"])
    add_version(registry, "demo-chat", "1.1.0", models["o4"])
    add_version(registry, "demo-chat", "1.2.0", models["o5"], status="rejected")
    add_version(registry, "demo-chat", "2.0.0", models["o6"], status="registered")
    promote(registry, "demo-chat", "1.0.0")
    for name in ("split-chat", "shadow-chat"):
        add_version(registry, name, "1.0.0", models["o3"])
        add_version(registry, name, "1.1.0", models["o4"])
        promote(registry, name, "1.0.0")
    registry.set_canary("split-chat", "1.1.0", 30, actor=ACTOR, reason="test")
    registry.set_shadow("shadow-chat", "1.1.0", actor=ACTOR, reason="test")
    add_version(registry, "upstream-chat", "1.0.0", models["up"])
    promote(registry, "upstream-chat", "1.0.0")
    add_version(registry, "slowshadow-chat", "1.0.0", models["o3"])
    add_version(registry, "slowshadow-chat", "1.1.0", models["slow"])
    promote(registry, "slowshadow-chat", "1.0.0")
    registry.set_shadow("slowshadow-chat", "1.1.0", actor=ACTOR, reason="test")
    yield World(settings, registry, upstream, models)
    registry.close()
    upstream.close()


@pytest.fixture(scope="module")
def gw(world: World) -> Iterator[GatewayServer]:
    server = GatewayServer(world.settings, serving_params())
    yield server
    server.close()


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    return dict(body["error"])


# ------------------------------------------------------------------ OpenAI clients
def test_openai_client_completion_chat_and_stream(gw: GatewayServer) -> None:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0, timeout=10)
    raw = client.completions.with_raw_response.create(
        model="demo-chat", prompt=PROMPT, max_tokens=12, seed=3, user="alice"
    )
    completion = raw.parse()
    assert raw.headers["x-safeship-version"] == "1.0.0"
    assert raw.headers["x-safeship-role"] == "stable"
    assert completion.choices[0].text.strip()
    assert completion.model == "demo-chat@1.0.0"
    assert 0 < completion.usage.completion_tokens <= 12

    chat = client.chat.completions.create(
        model="demo-chat", max_tokens=20, seed=5, user="alice",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}],
    )  # fmt: skip
    text = chat.choices[0].message.content
    assert text and chat.choices[0].finish_reason in ("stop", "length")

    stream = client.chat.completions.create(
        model="demo-chat", max_tokens=20, seed=5, user="alice", stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}],
    )  # fmt: skip
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 3 and streamed == text  # same seed: the same text, in pieces
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0

    pieces = list(client.completions.create(model="demo-chat", prompt=PROMPT, max_tokens=12,
                                            seed=3, user="alice", stream=True))  # fmt: skip
    assert "".join(p.choices[0].text for p in pieces if p.choices) == completion.choices[0].text


def test_stream_wire_format(gw: GatewayServer) -> None:
    with gw.client.stream("POST", "/v1/completions",
                          json={"model": "demo-chat", "prompt": PROMPT, "stream": True}) as r:  # fmt: skip
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-safeship-version"] == "1.0.0"
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"


def test_models_healthz_metrics(gw: GatewayServer, world: World) -> None:
    models = gw.client.get("/v1/models").json()
    ids = {m["id"] for m in models["data"]}
    assert {"demo-chat", "split-chat", "demo-chat@1.0.0", "demo-chat@1.1.0"} <= ids
    assert "demo-chat@1.2.0" not in ids  # rejected
    health = gw.client.get("/healthz").json()
    assert health["status"] in ("ok", "degraded")
    stable = health["models"]["demo-chat"]["stable"]
    assert stable["version"] == "1.0.0"
    assert stable["dir_hash"] == world.registry.version("demo-chat", "1.0.0").dir_hash
    assert health["models"]["split-chat"]["canary"]["version"] == "1.1.0"
    gw.complete("demo-chat")
    text = gw.client.get("/metrics").text
    replica = replica_name()  # every sample names its replica (issue 16)
    assert (
        f'safeship_gateway_requests_total{{endpoint="completions",model="demo-chat",replica="{replica}",role="stable",status="200",version="1.0.0"}}'
        in text
    )
    assert "safeship_gateway_request_latency_seconds_bucket" in text


# ------------------------------------------------------------------ routing
def test_canary_split_is_sticky_and_follows_weight(gw: GatewayServer) -> None:
    users = [f"user-{i}" for i in range(80)]
    seen: dict[str, set[str]] = {}
    for user in users:
        for how in ("field", "header"):
            if how == "field":
                r = gw.complete("split-chat", user=user, max_tokens=4)
            else:
                r = gw.client.post("/v1/completions", headers={"X-Safeship-User": user},
                                   json={"model": "split-chat", "prompt": PROMPT, "max_tokens": 4})  # fmt: skip
            assert r.status_code == 200
            seen.setdefault(user, set()).add(
                f"{r.headers['x-safeship-version']}/{r.headers['x-safeship-role']}"
            )
    for user, versions in seen.items():
        expected = "1.1.0/canary" if bucket("split-chat", user) < 30 else "1.0.0/stable"
        assert versions == {expected}, user
    canary_share = sum("1.1.0/canary" in v for v in seen.values()) / len(users)
    assert 0.1 < canary_share < 0.5
    anonymous = {
        gw.complete("split-chat", max_tokens=2).headers["x-safeship-version"] for _ in range(60)
    }
    assert anonymous == {"1.0.0", "1.1.0"}  # no caller id: a random split


def test_shadow_is_mirrored_and_logged(gw: GatewayServer) -> None:
    r = gw.complete("shadow-chat", user="sam")
    assert r.status_code == 200 and r.headers["x-safeship-role"] == "stable"
    rid = r.headers["x-request-id"]
    log = gw.gateway.requests
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        log.flush()
        frame = log.query("shadow-chat", role="shadow")
        if rid in set(frame["request_id"]):
            break
        time.sleep(0.05)
    row = frame[frame["request_id"] == rid].iloc[0]
    assert row["version"] == "1.1.0" and row["status"] == 200 and row["output"]
    primary = log.query("shadow-chat", role="stable")
    assert rid in set(primary["request_id"])


def test_slow_shadow_never_delays_the_caller(gw: GatewayServer) -> None:
    hits = gw.gateway.metrics.shadow.labels("slowshadow-chat", "1.1.0", "ok")
    before = hits._value.get()
    started = time.perf_counter()
    r = gw.complete("slowshadow-chat", user="sam")
    elapsed = time.perf_counter() - started
    assert r.status_code == 200 and r.headers["x-safeship-version"] == "1.0.0"
    assert elapsed < 1.5  # the shadow upstream takes 2.5 s
    deadline = time.monotonic() + 10
    while hits._value.get() == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hits._value.get() == before + 1  # it did run, in the background


def test_pinning(gw: GatewayServer, world: World) -> None:
    r = gw.complete("demo-chat@1.1.0")  # approved, not deployed: loaded on demand
    assert r.status_code == 200, r.text
    assert (r.headers["x-safeship-version"], r.headers["x-safeship-role"]) == ("1.1.0", "pinned")
    r = gw.client.post("/v1/completions", headers={"X-Safeship-Version": "1.0.0"},
                       json={"model": "demo-chat", "prompt": PROMPT})  # fmt: skip
    assert (r.headers["x-safeship-version"], r.headers["x-safeship-role"]) == ("1.0.0", "pinned")
    before = len([e for e in world.registry.events("demo-chat") if e.kind == "gateway.pin_refused"])
    for _ in range(5):
        assert _error(gw.complete("demo-chat@1.2.0"), 403)["code"] == "version_not_deployable"
    assert _error(gw.complete("demo-chat@2.0.0"), 403)["code"] == "version_not_deployable"
    assert _error(gw.complete("demo-chat@9.9.9"), 404)["code"] == "version_not_found"
    r = gw.client.post("/v1/completions", headers={"X-Safeship-Version": "1.2.0"},
                       json={"model": "demo-chat@1.0.0", "prompt": PROMPT})  # fmt: skip
    _error(r, 400)
    deadline = time.monotonic() + 5
    refused: list[Any] = []
    while time.monotonic() < deadline:
        refused = [e for e in world.registry.events("demo-chat") if e.kind == "gateway.pin_refused"]
        if len(refused) >= before + 2:
            break
        time.sleep(0.05)
    time.sleep(0.2)  # a third event (there must be none) would have been written by now
    refused = [e for e in world.registry.events("demo-chat") if e.kind == "gateway.pin_refused"]
    # one event per (kind, version) per interval: 1.2.0 once despite five refusals, 2.0.0 once
    assert sorted(e.version for e in refused[before:]) == ["1.2.0", "2.0.0"]


# ------------------------------------------------------------------ failures
def test_adapter_error_is_502_and_hang_is_504(gw: GatewayServer) -> None:
    ok = gw.complete("upstream-chat", prompt="hello")
    assert ok.status_code == 200 and ok.json()["choices"][0]["text"] == "upstream says: hello"
    failed = gw.complete("upstream-chat", prompt="please [[fail]]")
    assert _error(failed, 502)["code"] == "adapter_error"
    assert failed.headers["x-safeship-version"] == "1.0.0"
    started = time.perf_counter()
    hung = gw.complete("upstream-chat", prompt="please [[hang]]")
    assert _error(hung, 504)["code"] == "timeout"
    assert time.perf_counter() - started < 2.0  # serving.timeout_s is 1 s; the upstream 2.5 s
    text = gw.client.get("/metrics").text
    assert 'kind="adapter_error",model="upstream-chat"' in text
    assert 'kind="timeout",model="upstream-chat"' in text
    assert gw.complete("demo-chat").status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "status", "param"),
    [
        ("/v1/completions", b"{not json", 400, None),
        ("/v1/completions", b"[1, 2]", 400, None),
        ("/v1/completions", b"", 400, None),
        ("/v1/completions", {"prompt": "hi"}, 400, "model"),
        ("/v1/completions", {"model": "demo-chat"}, 400, "prompt"),
        ("/v1/chat/completions", {"model": "demo-chat"}, 400, "messages"),
        ("/v1/chat/completions", {"model": "demo-chat", "messages": [{"role": "wizard", "content": "x"}]}, 400, "messages[0].role"),
        ("/v1/completions", {"model": "no-such-model", "prompt": "hi"}, 404, "model"),
        ("/v1/completions", {"model": "demo-chat", "prompt": "x" * 501}, 400, "prompt"),
        ("/v1/chat/completions", {"model": "demo-chat", "messages": [{"role": "user", "content": "x" * 501}]}, 400, "messages"),
        ("/v1/completions", {"model": "demo-chat", "prompt": "hi", "max_tokens": -1}, 400, "max_tokens"),
        ("/v1/completions", {"model": "demo-chat", "prompt": "hi", "max_tokens": 10**9}, 400, "max_tokens"),
        ("/v1/completions", {"model": "demo-chat", "prompt": "hi", "max_tokens": "ten"}, 400, "max_tokens"),
        ("/v1/completions", {"model": "demo-chat", "prompt": "hi", "temperature": 9}, 400, "temperature"),
        ("/v1/completions", {"model": "demo-chat@0.0.1", "prompt": "hi"}, 404, "model"),
        ("/v1/nothing", {"model": "demo-chat"}, 404, None),
    ],
)  # fmt: skip
def test_bad_input_is_an_openai_error(
    gw: GatewayServer, path: str, body: Any, status: int, param: str | None
) -> None:
    if isinstance(body, bytes):
        r = gw.client.post(path, content=body, headers={"Content-Type": "application/json"})
    else:
        r = gw.client.post(path, json=body)
    error = _error(r, status)
    assert error["param"] == param
    assert gw.complete("demo-chat").status_code == 200  # still serving


def test_oversized_body_is_413_and_errors_are_counted(gw: GatewayServer) -> None:
    huge = b'{"model": "demo-chat", "prompt": "' + b"x" * 200_000 + b'"}'
    _error(gw.client.post("/v1/completions", content=huge), 413)
    text = gw.client.get("/metrics").text
    assert 'safeship_gateway_errors_total{kind="invalid_json"' in text
    assert 'kind="context_length_exceeded"' in text


# ------------------------------------------------------------------ integrity
def _wait_event(
    registry: Registry, model: str, kind: str, version: str, timeout_s: float = 10
) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [e for e in registry.events(model) if e.kind == kind and e.version == version]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no {kind} event for {model} {version}")


def _tamper(path: Path) -> None:
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_integrity_mismatch_refuses_the_load(gw: GatewayServer, world: World) -> None:
    registry = world.registry
    add_version(registry, "tamper-chat", "1.0.0", world.models["o3"])
    promote(registry, "tamper-chat", "1.0.0")
    gw.wait_for("tamper-chat", "1.0.0")

    # 1) a byte changed in the materialised working copy
    add_version(registry, "tamper-chat", "1.1.0", world.models["o4"])
    working = artifact_dir(registry, registry.version("tamper-chat", "1.1.0"))
    _tamper(working / "weights.json")
    promote(registry, "tamper-chat", "1.1.0")
    event = _wait_event(registry, "tamper-chat", "gateway.integrity_refused", "1.1.0")
    assert "weights.json" in event.payload["reason"]
    r = gw.complete("tamper-chat")
    assert r.status_code == 200 and r.headers["x-safeship-version"] == "1.0.0"
    health = gw.client.get("/healthz").json()
    assert health["status"] == "degraded"
    assert health["models"]["tamper-chat"]["not_loaded"] == {"stable": "1.1.0"}

    # 2) a byte changed in the DVC cache object, before the version was ever materialised
    add_version(registry, "tamper-chat", "1.2.0", world.models["o5"])
    record = registry.version("tamper-chat", "1.2.0")
    md5 = record.file_hashes()["weights.json"]
    cache = world.settings.project_root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    _tamper(cache)
    promote(registry, "tamper-chat", "1.2.0")
    _wait_event(registry, "tamper-chat", "gateway.integrity_refused", "1.2.0")
    r = gw.complete("tamper-chat")
    assert r.status_code == 200 and r.headers["x-safeship-version"] == "1.0.0"


def test_adapter_that_raises_is_502(gw: GatewayServer, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = gw.gateway.snapshot.models["demo-chat"].stable

    def explode(*_: Any) -> Any:
        raise RuntimeError("weights on fire")

    monkeypatch.setattr(loaded.generator, "generate", explode)
    error = _error(gw.complete("demo-chat"), 502)
    assert error["code"] == "adapter_error" and "weights on fire" in error["message"]
    monkeypatch.undo()
    assert gw.complete("demo-chat").status_code == 200
