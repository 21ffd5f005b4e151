"""Gateway authentication: ``Authorization: Bearer <key>`` checked against an in-memory
copy of the registry's active API keys.

No registry or database work happens per request: :class:`KeyRing` holds a dict from key
hash to key, replaced whole by a background refresh every ``refresh_s`` (a revocation
takes effect within that interval). A request costs one SHA-256 and one dict lookup.
Answers are OpenAI-style: 401 ``invalid_api_key`` for a missing, malformed, unknown or
revoked key; 403 ``pin_not_allowed`` when a key without ``pin`` scope names a version.

Auth can be switched off for the embedded demo only with the explicit
``SAFESHIP_GATEWAY_AUTH=off`` (or ``safeship gateway --no-auth``); the gateway logs that
loudly at start-up.
"""

from __future__ import annotations

import logging
import threading
from types import MappingProxyType
from typing import TYPE_CHECKING

from safeship.gateway import errors
from safeship.gateway.errors import GatewayError
from safeship.registry.apikeys import KeyStore, hash_secret, well_formed

if TYPE_CHECKING:
    from collections.abc import Mapping

    from safeship.registry.apikeys import ApiKey
    from safeship.registry.base import RegistryBase

log = logging.getLogger("safeship.gateway")
ENV_AUTH = "SAFESHIP_GATEWAY_AUTH"
ENV_METRICS_AUTH = "SAFESHIP_GATEWAY_METRICS_AUTH"
DISABLED_WARNING = (
    "GATEWAY AUTHENTICATION IS DISABLED (SAFESHIP_GATEWAY_AUTH=off / --no-auth): anyone who "
    "reaches this port can call every model, pin any deployable version and choose their "
    "canary arm. Use this for the embedded demo only; create keys with `safeship keys create`."
)


def unauthorized(message: str) -> GatewayError:
    return GatewayError(message, status=401, code="invalid_api_key")


def pin_not_allowed(name: str) -> GatewayError:
    return GatewayError(
        f"API key {name!r} may not choose a version (it has scope 'infer' only); ask for a key "
        "with pin scope (`safeship keys create NAME --scope pin`).",
        status=403,
        type=errors.PERMISSION,
        code="pin_not_allowed",
    )


class KeyRing:
    """The active keys by hash, refreshed from the registry in a background thread."""

    def __init__(self, registry: RegistryBase, refresh_s: float) -> None:
        self._store = KeyStore(registry)
        self._refresh_s = refresh_s
        self._keys: Mapping[str, ApiKey] = MappingProxyType({})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def load(self) -> None:
        keys = self._store.list(include_revoked=False)
        self._keys = MappingProxyType({k.key_hash: k for k in keys})  # one reference swap

    def start(self) -> None:
        self.load()
        self._thread = threading.Thread(target=self._run, name="safeship-keyring", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._refresh_s):
            try:
                self.load()
                self.last_error = None
            except Exception as error:  # noqa: BLE001 - keep the last good keys; retry
                self.last_error = f"{type(error).__name__}: {error}"
                log.warning("could not refresh API keys: %s", self.last_error)

    def authenticate(self, header: str | None) -> ApiKey:
        """The key behind an ``Authorization`` header, or a 401 :class:`GatewayError`."""
        if not header:
            raise unauthorized(
                "No API key provided. Send 'Authorization: Bearer <key>' (the OpenAI clients' "
                "api_key); keys come from `safeship keys create NAME`."
            )
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not well_formed(secret):
            raise unauthorized(
                "Malformed API key: send 'Authorization: Bearer ss-...' with a key from "
                "`safeship keys create`."
            )
        key = self._keys.get(hash_secret(secret))
        if key is None:
            raise unauthorized(
                f"Incorrect API key provided: {secret[:7]}... is unknown or revoked. "
                "See `safeship keys list`."
            )
        return key
