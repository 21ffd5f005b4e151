"""Gateway API keys: the key store (SQLite and PostgreSQL) and the gateway's checks on a
real uvicorn server in front of a real registry and the demo n-gram model."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from safeship.cli import main as cli_main
from safeship.errors import ConflictError, InputError, NotFoundError, SafeshipError
from safeship.registry.apikeys import KeyStore
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

BODY = {"model": "demo-chat", "prompt": "How do I make a simple tomato soup?", "max_tokens": 4}


def _registry(base: Path, db_url: str) -> Registry:
    settings = dataclasses.replace(make_project(base / "project"), db_url=db_url)
    registry = Registry.open(settings)
    model = train_ngram(base / "candidates" / "o3", 3)
    # 1.0.0 ends retired, 1.1.0 production, 1.2.0 rejected, 1.3.0 approved
    for version, status in (("1.0.0", "approved"), ("1.1.0", "approved"),
                            ("1.2.0", "rejected"), ("1.3.0", "approved")):  # fmt: skip
        add_version(registry, "demo-chat", version, model, status=status)
    promote(registry, "demo-chat", "1.0.0")
    promote(registry, "demo-chat", "1.1.0")
    return registry


def _state(registry: Registry) -> tuple[dict[str, int], list[dict[str, object]]]:
    return registry.count_rows(), [k.as_dict() for k in KeyStore(registry).list()]


@pytest.fixture
def store(tmp_path: Path, db_url: str) -> Iterator[KeyStore]:
    registry = _registry(tmp_path, db_url)
    yield KeyStore(registry)
    registry.close()


def test_create_list_pin_revoke(store: KeyStore) -> None:
    key, secret, event = store.create("ops", scope="pin", actor=ACTOR)
    assert secret.startswith("ss-") and len(secret) == 46
    assert key.key_hash != secret and secret not in json.dumps(key.as_dict())
    assert event.kind == "key.created"
    store.pin("ops", "demo-chat@1.3.0", actor=ACTOR)
    assert store.get("ops").pin == "demo-chat@1.3.0"
    store.revoke("ops", actor=ACTOR)
    assert store.get("ops").revoked_at is not None
    assert [k.name for k in store.list(include_revoked=False)] == []
    kinds = [e.kind for e in store.registry.events(limit=3)]
    assert set(kinds) >= {"key.created", "key.pinned", "key.revoked"}


@pytest.mark.parametrize(
    ("action", "error", "says"),
    [
        (lambda s: s.create("Bad Name!", actor=ACTOR), InputError, "invalid"),
        (lambda s: s.create("k2", pin="demo-chat@1.3.0", actor=ACTOR), InputError, "pin scope"),
        (lambda s: s.create("k2", scope="pin", pin="demo-chat@1.2.0", actor=ACTOR),
         InputError, "rejected"),
        (lambda s: s.create("k2", scope="pin", pin="demo-chat@1.0.0", actor=ACTOR),
         InputError, "retired"),
        (lambda s: s.create("k2", scope="pin", pin="demo-chat", actor=ACTOR), InputError,
         "malformed"),
        (lambda s: s.create("k2", scope="pin", pin="demo-chat@9.9.9", actor=ACTOR),
         NotFoundError, "9.9.9"),
        (lambda s: s.create("infer-only", actor=ACTOR), ConflictError, "exists"),
        (lambda s: s.pin("infer-only", "demo-chat@1.3.0", actor=ACTOR), InputError,
         "without pin scope"),
        (lambda s: s.pin("pinner", "demo-chat@1.2.0", actor=ACTOR), InputError, "rejected"),
        (lambda s: s.pin("gone", "demo-chat@1.3.0", actor=ACTOR), ConflictError, "revoked"),
        (lambda s: s.revoke("gone", actor=ACTOR), ConflictError, "already revoked"),
        (lambda s: s.revoke("nobody", actor=ACTOR), NotFoundError, "nobody"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_and_changes_nothing(
    store: KeyStore, action: Any, error: type[SafeshipError], says: str
) -> None:
    store.create("infer-only", actor=ACTOR)
    store.create("pinner", scope="pin", actor=ACTOR)
    store.create("gone", scope="pin", actor=ACTOR)
    store.revoke("gone", actor=ACTOR)
    before = _state(store.registry)
    with pytest.raises(error, match=says):
        action(store)
    assert _state(store.registry) == before


# ---------------------------------------------------------------- through the gateway
class Keys:
    def __init__(self, server: GatewayServer, store: KeyStore, secrets: dict[str, str]) -> None:
        self.server, self.store, self.secrets = server, store, secrets

    def post(self, key: str | None, body: dict[str, Any] | None = None,
             **headers: str) -> httpx.Response:  # fmt: skip
        if key is not None:
            headers["Authorization"] = f"Bearer {self.secrets.get(key, key)}"
        return self.server.client.post("/v1/completions", json=body or BODY, headers=headers)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    base = tmp_path_factory.mktemp("keys")
    registry = _registry(base, f"sqlite:///{base / 'registry.db'}")
    store = KeyStore(registry)
    secrets = {
        "infer": store.create("infer", actor=ACTOR)[1],
        "pinner": store.create("pinner", scope="pin", actor=ACTOR)[1],
        "old": store.create("old", scope="pin", pin="demo-chat@1.3.0", actor=ACTOR)[1],
        "revoked": store.create("revoked", actor=ACTOR)[1],
    }
    params = serving_params(poll_interval_ms=100)
    server = GatewayServer(registry.settings, params, auth=True, metrics_auth=True)
    server.wait_for("demo-chat", "1.1.0")
    store.revoke("revoked", actor=ACTOR)
    yield Keys(server, store, secrets)
    server.close()
    registry.close()


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and set(error) == {"message", "type", "param", "code"}
    return str(error["message"])


def test_requests_need_a_valid_key(keys: Keys) -> None:
    assert keys.post("infer").status_code == 200
    assert "No API key" in _error(keys.post(None), 401, "invalid_api_key")
    malformed = keys.server.client.post("/v1/completions", json=BODY,
                                        headers={"Authorization": "Basic abc"})  # fmt: skip
    assert "Malformed" in _error(malformed, 401, "invalid_api_key")
    assert "Malformed" in _error(keys.post("ss-short"), 401, "invalid_api_key")
    unknown = "ss-" + "A" * 43
    assert "unknown or revoked" in _error(keys.post(unknown), 401, "invalid_api_key")


def test_a_revoked_key_is_refused_within_a_refresh(keys: Keys) -> None:
    import time

    deadline = time.monotonic() + 5
    while keys.post("revoked").status_code != 401:
        assert time.monotonic() < deadline, "revocation not picked up"
        time.sleep(0.05)
    _error(keys.post("revoked"), 401, "invalid_api_key")


def test_healthz_open_models_and_metrics_need_a_key(keys: Keys) -> None:
    client = keys.server.client
    assert client.get("/healthz").status_code == 200
    _error(client.get("/v1/models"), 401, "invalid_api_key")
    _error(client.get("/metrics"), 401, "invalid_api_key")
    auth = {"Authorization": f"Bearer {keys.secrets['infer']}"}
    assert client.get("/v1/models", headers=auth).status_code == 200
    assert client.get("/metrics", headers=auth).status_code == 200


def test_a_key_without_pin_scope_cannot_pin(keys: Keys) -> None:
    _error(keys.post("infer", {**BODY, "model": "demo-chat@1.3.0"}), 403, "pin_not_allowed")
    _error(keys.post("infer", **{"X-Safeship-Version": "1.3.0"}), 403, "pin_not_allowed")
    pinned = keys.post("pinner", {**BODY, "model": "demo-chat@1.3.0"})
    assert pinned.status_code == 200 and pinned.headers["x-safeship-version"] == "1.3.0"


def test_a_pinned_key_keeps_its_version_and_hears_of_retirement(keys: Keys) -> None:
    answer = keys.post("old")
    assert answer.headers["x-safeship-version"] == "1.3.0"
    assert answer.headers["x-safeship-role"] == "pinned"
    assert "deprecation" not in answer.headers
    assert keys.post("infer").headers["x-safeship-version"] == "1.1.0"
    # a retired version is still deployable: served, with a deprecation notice
    retired = keys.post("pinner", {**BODY, "model": "demo-chat@1.0.0"})
    assert retired.status_code == 200 and retired.headers["deprecation"] == "true"
    assert "retired" in retired.headers["x-safeship-deprecation"]
    # a rejected version is not served to anyone
    _error(keys.post("pinner", {**BODY, "model": "demo-chat@1.2.0"}), 403,
           "version_not_deployable")  # fmt: skip


def test_the_caller_identity_comes_from_the_key(keys: Keys) -> None:
    """A declared user only subdivides its own key: two keys claiming the same user are two
    callers, and the request log records the key-derived identity."""
    gateway = keys.server.gateway
    for key in ("infer", "pinner"):
        keys.post(key, {**BODY, "user": "alice"})
    from safeship.gateway.requestlog import hash_user

    gateway.requests.flush()
    hashes = set(gateway.requests.query("demo-chat")["user_hash"])
    assert {hash_user("infer/alice"), hash_user("pinner/alice")} <= hashes
    assert hash_user("alice") not in hashes


def test_keys_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    registry = _registry(
        tmp_path, f"sqlite:///{tmp_path / 'project' / '.safeship' / 'registry.db'}"
    )
    registry.close()
    capsys.readouterr()  # set-up output (dvc init)
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.delenv("SAFESHIP_HOME", raising=False)
    monkeypatch.delenv("SAFESHIP_DB_URL", raising=False)
    assert cli_main(["keys", "create", "svc", "--scope", "pin", "--json", "--actor", "ann"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["key"].startswith("ss-") and created["scopes"] == ["infer", "pin"]
    assert cli_main(["keys", "pin", "svc", "demo-chat@1.3.0", "--actor", "ann"]) == 0
    assert cli_main(["keys", "create", "plain", "--pin", "demo-chat@1.3.0"]) == 2
    assert "pin scope" in capsys.readouterr().err
    assert cli_main(["keys", "revoke", "svc", "--actor", "ann"]) == 0
    capsys.readouterr()
    assert cli_main(["keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(k["name"], k["pin"], k["revoked_at"] is not None) for k in listed] == [
        ("svc", "demo-chat@1.3.0", True)
    ]


def test_the_auth_setting_is_explicit() -> None:
    from safeship.errors import ConfigError
    from safeship.gateway.app import _auth_setting

    assert _auth_setting("on") and _auth_setting("") and not _auth_setting("off")
    with pytest.raises(ConfigError, match="SAFESHIP_GATEWAY_AUTH"):
        _auth_setting("maybe")


def test_auth_off_is_logged_loudly(keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    registry = keys.store.registry
    with caplog.at_level(logging.WARNING, logger="safeship.gateway"):
        server = GatewayServer(registry.settings, serving_params(), auth=False, preload=False)
        try:
            assert server.client.post("/v1/completions", json=BODY).status_code == 200
        finally:
            server.close()
    assert any("AUTHENTICATION IS DISABLED" in r.getMessage() for r in caplog.records)
